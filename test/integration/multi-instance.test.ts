import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startServiceProcess, type ServiceProcess } from '../helpers/process.js';
import { createTestDatabase, NO_POSTGRES, type TestDatabase } from '../helpers/postgres.js';
import { startS3, TEST_BUCKET, type TestS3 } from '../helpers/s3.js';
import { fixture, json, PUBLIC_URL, TOKEN } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function uploadTo(instance: ServiceProcess, bytes: Buffer, name = 'file.bin'): Promise<Response> {
  const form = new FormData();
  form.append('Filename', new Blob([bytes]), name);
  return fetch(`${instance.url}/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
}

/** Every object key in the test bucket, straight from the S3 server's listing. */
async function bucketKeys(s3: TestS3): Promise<string[]> {
  const xml = await (await fetch(`${s3.endpoint}/${TEST_BUCKET}?list-type=2&max-keys=1000`)).text();
  return [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] as string).sort();
}

describe('two AMS processes sharing PostgreSQL and S3 (as behind a load balancer)', { skip: NO_POSTGRES }, () => {
  let db: TestDatabase;
  let s3: TestS3;
  let proxy: TcpProxy;
  let a: ServiceProcess;
  let b: ServiceProcess;
  const dataDirs: string[] = [];
  const instance = async (databaseUrl: string) => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-multi-'));
    dataDirs.push(dataDir);
    return startServiceProcess({
      ...s3.env(),
      AMS_DATABASE_URL: databaseUrl,
      AMS_DATA_DIR: dataDir,
      AMS_TOKENS: TOKEN,
      AMS_PUBLIC_URL: PUBLIC_URL,
    });
  };

  before(async () => {
    db = await createTestDatabase();
    s3 = await startS3();
    // B reaches PostgreSQL through a proxy the test can cut; A connects directly.
    proxy = await startTcpProxy(Number(new URL(db.url).port || 5432), new URL(db.url).hostname);
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    // Both start at once: the migrations must run once, whichever wins.
    [a, b] = await Promise.all([instance(db.url), instance(viaProxy.toString())]);
  });
  after(async () => {
    // An instance that died tells why (a crash would otherwise show only as "fetch failed").
    for (const [name, p] of [['A', a], ['B', b]] as const) {
      if (p && p.child.exitCode !== null && p.child.exitCode !== 0) process.stderr.write(`--- instance ${name} output ---\n${p.output()}\n`);
    }
    a?.kill();
    b?.kill();
    await proxy?.close();
    await s3?.close();
    await db?.drop();
    for (const d of dataDirs) await fs.rm(d, { recursive: true, force: true });
  });

  test('upload through A; metadata, redirect and download through B', async () => {
    const bytes = await fixture('clip.mp4');
    const res = await uploadTo(a, bytes, 'clip.mp4');
    assert.equal(res.status, 201);
    const created = await json(res);
    const viaB = await fetch(`${b.url}/assets/${created.id}`);
    assert.equal(viaB.status, 200);
    const { success, ...asset } = created;
    assert.equal(success, true);
    assert.deepEqual(await json(viaB), asset);

    const redirect = await fetch(`${b.url}/videos/${created.id}`, { redirect: 'manual' });
    assert.equal(redirect.status, 303);
    const location = redirect.headers.get('location') ?? '';
    assert.ok(location.startsWith(`${s3.endpoint}/${TEST_BUCKET}/originals/`), location);
    assert.ok(Buffer.from(await (await fetch(location)).arrayBuffer()).equals(bytes));

    const file = await fetch(created.href.replace(PUBLIC_URL, b.url));
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('etag'), `"${sha256(bytes)}"`);
    assert.ok(Buffer.from(await file.arrayBuffer()).equals(bytes));
  });

  test('identical bytes uploaded through both at once: all 201, one object, a row each', async () => {
    const bytes = await fixture('image.tiff');
    const results = await Promise.all([a, b, a, b].map((i) => uploadTo(i, bytes)));
    const ids: string[] = [];
    for (const r of results) {
      assert.equal(r.status, 201);
      ids.push((await json(r)).id);
    }
    assert.equal(new Set(ids).size, 4);
    const h = sha256(bytes);
    assert.deepEqual((await bucketKeys(s3)).filter((k) => k.endsWith(h)), [`originals/${h.slice(0, 2)}/${h.slice(2, 4)}/${h}`]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM assets WHERE sha256 = $1', [h]);
      assert.equal(rows[0].n, 4);
    } finally {
      await client.end();
    }
    // Nothing left in either instance's temp directory.
    for (const d of dataDirs) assert.deepEqual(await fs.readdir(path.join(d, 'tmp')), []);
  });

  test('B loses PostgreSQL: 503 DATABASE_UNAVAILABLE and /readyz names the database; A is unaffected; B recovers by itself', async () => {
    const created = await json(await uploadTo(a, await fixture('photo.jpg')));
    await proxy.cut();
    try {
      const meta = await fetch(`${b.url}/assets/${created.id}`);
      assert.equal(meta.status, 503);
      const body = await json(meta);
      assert.equal(body.code, 'DATABASE_UNAVAILABLE');
      assert.match(body.message, /try again/);
      assert.equal(meta.headers.get('retry-after'), '5');

      const ready = await fetch(`${b.url}/readyz`);
      assert.equal(ready.status, 503);
      const checks = (await json(ready)).checks;
      assert.equal(checks.database.ok, false);
      assert.equal(checks.storage.ok, true);

      assert.equal((await fetch(`${a.url}/assets/${created.id}`)).status, 200);
      assert.equal((await fetch(`${a.url}/readyz`)).status, 200);
    } finally {
      await proxy.restore();
    }
    assert.equal((await fetch(`${b.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${b.url}/assets/${created.id}`)).status, 200);
    assert.equal((await uploadTo(b, await fixture('image.png'))).status, 201);
  });

  test('both shut down gracefully on SIGTERM', async () => {
    assert.deepEqual(await Promise.all([a.stop(), b.stop()]), [0, 0]);
  });
});
