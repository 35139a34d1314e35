import assert from 'node:assert/strict';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, NO_POSTGRES, type TestDatabase } from '../helpers/postgres.js';
import { runCli } from '../helpers/process.js';
import { startS3, TEST_BUCKET, type TestS3 } from '../helpers/s3.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { fetchBytes, md5, noiseJpeg, rawUpload, spawnServer, withComment, type ServerProcess } from './harness.js';

/**
 * The networked backends failing under a running server: PostgreSQL and the S3-compatible store
 * are each reached through a loopback TCP proxy the test cuts (every connection dropped, new ones
 * refused) and restores on the same port, as a network partition or a restart would. The server
 * is never restarted: it must answer 503s that say what is wrong while a dependency is gone, and
 * serve normally again once it is back.
 */
describe('PostgreSQL and S3 going away under a running server, then coming back', { skip: NO_POSTGRES }, () => {
  let database: TestDatabase;
  let s3: TestS3;
  let pgProxy: TcpProxy;
  let s3Proxy: TcpProxy;
  let server: ServerProcess;
  let dataDir: string;
  let env: Record<string, string>;
  let photo: Buffer;
  let n = 0;
  const next = () => withComment(photo, n++);
  const created: Array<{ id: string; href: string; md5Checksum: string; bytes: Buffer }> = [];

  async function uploadOk(what: string) {
    const bytes = next();
    const res = await rawUpload(server.url, bytes, `${what}.jpg`);
    assert.equal(res.status, 201, `${what}: ${res.body}`);
    const body = JSON.parse(res.body) as { id: string; href: string; md5Checksum: string };
    created.push({ ...body, bytes });
    return body;
  }

  async function refused(what: string, pattern: RegExp) {
    const res = await rawUpload(server.url, next(), `${what}.jpg`);
    assert.equal(res.status, 503, `${what}: ${res.body}`);
    assert.match(JSON.parse(res.body).message as string, pattern);
  }

  before(async () => {
    database = await createTestDatabase();
    s3 = await startS3();
    const dbUrl = new URL(database.url);
    pgProxy = await startTcpProxy(Number(dbUrl.port || 5432), dbUrl.hostname);
    dbUrl.host = `127.0.0.1:${pgProxy.port}`;
    s3Proxy = await startTcpProxy(s3.port);
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-deps-'));
    env = {
      ...s3.env(),
      AMS_S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
      AMS_DATABASE_URL: dbUrl.toString(),
      AMS_GC_GRACE_S: '0',
    };
    photo = await noiseJpeg(400, 300);
    server = await spawnServer(dataDir, env);
  });

  after(async () => {
    await server?.kill();
    await pgProxy?.close();
    await s3Proxy?.close();
    await s3?.close();
    await database?.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  test('the database cut: uploads and unknown ids → 503 naming the database, /readyz false; then recovery', async () => {
    const before = await uploadOk('before-db-cut');
    assert.equal((await fetch(`${server.url}/assets/${before.id}`)).status, 200);
    await pgProxy.cut();
    try {
      await refused('db-down', /metadata database is unavailable; try again/);
      const unknown = await fetch(`${server.url}/assets/00000000-0000-4000-8000-000000000000`);
      assert.equal(unknown.status, 503, 'an unknown id cannot be answered 404 without the database');
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 503);
      const checks = ((await ready.json()) as { checks: Record<string, { ok: boolean; error?: string }> }).checks;
      assert.equal(checks.database?.ok, false);
      assert.equal(checks.storage?.ok, true, 'the bucket is fine: the report names what is not');
      // Rows already read are served from the row cache (AMS_CACHE_ROW_TTL_MS) while it lasts.
      assert.equal((await fetch(`${server.url}/assets/${before.id}`)).status, 200);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'alive: no restart wanted');
    } finally {
      await pgProxy.restore();
    }
    await uploadOk('after-db-cut');
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
  });

  test('the bucket cut: uploads and uncached files → 503 naming the storage; then recovery', async () => {
    const unread = await uploadOk('never-read-before-s3-cut');
    await s3Proxy.cut();
    try {
      await refused('s3-down', /storage is unavailable; try again/);
      const file = await fetch(new URL(new URL(unread.href).pathname, server.url));
      assert.equal(file.status, 503, 'a file never read into memory needs the bucket');
      assert.equal((await fetch(`${server.url}/assets/${unread.id}`)).status, 200, 'metadata does not need the bucket');
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 503);
      const checks = ((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks;
      assert.deepEqual([checks.database?.ok, checks.storage?.ok], [true, false]);
    } finally {
      await s3Proxy.restore();
    }
    await uploadOk('after-s3-cut');
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
  });

  test('afterwards: every 201 is intact by bytes and MD5; after `ams gc` nothing else is in the bucket or the database', async () => {
    for (const a of created) {
      const got = await fetchBytes(`${server.url}${new URL(a.href).pathname}`);
      assert.equal(got.status, 200, a.id);
      assert.equal(md5(got.bytes), a.md5Checksum, a.id);
      assert.ok(got.bytes.equals(a.bytes), a.id);
    }
    const gc = await runCli(['gc'], { ...env, AMS_DATA_DIR: dataDir });
    assert.equal(gc.code, 0, gc.stderr);
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: 'originals/' }));
    client.destroy();
    const keys = (listed.Contents ?? []).map((o) => o.Key);
    assert.equal(keys.length, created.length, `one object per 201, no orphan of a refused upload: ${keys.join(', ')}`);
    const rows = new pg.Client({ connectionString: database.url });
    await rows.connect();
    try {
      const { rows: ids } = await rows.query<{ id: string }>('SELECT id FROM assets ORDER BY id');
      assert.deepEqual(ids.map((r) => r.id), created.map((a) => a.id).sort());
    } finally {
      await rows.end();
    }
    assert.deepEqual(await fs.readdir(path.join(dataDir, 'tmp')), [], 'no temp file left');
  });
});
