import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, NO_POSTGRES, type TestDatabase } from '../helpers/postgres.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/process.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { fixture, TOKEN } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * A server started before its PostgreSQL or its bucket is reachable (a compose file, a rolling
 * restart) waits for them, saying so, for AMS_STARTUP_WAIT_S; with 0 it gives up at once.
 */
describe('start-up while PostgreSQL and the bucket are not reachable yet', { skip: NO_POSTGRES }, () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let s3: TestS3;
  let dir: string;
  let env: Record<string, string>;
  const started: ServiceProcess[] = [];

  before(async () => {
    database = await createTestDatabase();
    const url = new URL(database.url);
    proxy = await startTcpProxy(Number(url.port || 5432), url.hostname);
    url.host = `127.0.0.1:${proxy.port}`;
    s3 = await startS3();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-startup-'));
    env = { ...s3.env(), AMS_DATABASE_URL: url.toString(), AMS_DATA_DIR: dir, AMS_TOKENS: TOKEN };
  });
  after(async () => {
    for (const s of started) s.kill();
    await proxy?.close();
    await s3?.close();
    await database?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('waits, saying what it waits for, then serves once both are back', async () => {
    await proxy.cut();
    await s3.stop();
    // The database comes back once the server has said it waits for it; then the bucket, likewise.
    let dbBack: Promise<void> | null = null;
    let s3Back: Promise<void> | null = null;
    const starting = startServiceProcess({ ...env, AMS_STARTUP_WAIT_S: '30' }, 1, (out) => {
      if (dbBack === null && /the database is not reachable yet/.test(out)) dbBack = proxy.restore();
      if (s3Back === null && /the storage is not reachable yet/.test(out)) s3Back = s3.start();
    });
    const server = await starting;
    started.push(server);
    await Promise.all<unknown>([dbBack, s3Back]);
    assert.match(server.output(), /the database is not reachable yet \(.*\); retrying in/);
    assert.match(server.output(), /the storage is not reachable yet \(.*\); retrying in/);
    const form = new FormData();
    form.append('Filename', new Blob([await fixture('photo.jpg')]), 'photo.jpg');
    const res = await fetch(`${server.url}/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 201, await res.text());
    assert.equal(await server.stop(), 0);
  });

  test('AMS_STARTUP_WAIT_S=0: exits 1 at once, naming the database', async () => {
    await proxy.cut();
    try {
      const t0 = Date.now();
      const failed = startServiceProcess({ ...env, AMS_STARTUP_WAIT_S: '0' });
      await assert.rejects(failed, /exited with 1:[\s\S]*AMS could not start: .*PostgreSQL/);
      assert.ok(Date.now() - t0 < 10_000, 'no waiting');
    } finally {
      await proxy.restore();
    }
  });

  test('gives up when the wait runs out', async () => {
    await proxy.cut();
    try {
      const failed = startServiceProcess({ ...env, AMS_STARTUP_WAIT_S: '2' });
      await assert.rejects(failed, /exited with 1:[\s\S]*not reachable yet[\s\S]*AMS could not start/);
    } finally {
      await proxy.restore();
    }
  });
});

