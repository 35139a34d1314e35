import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { TOKEN, fixture, multipartBody } from '../helpers/server.js';
import { postOnce, startServiceProcess as startProcess, waitFor, type ServiceProcess as Started } from '../helpers/process.js';

const rows = (dataDir: string) => {
  const db = new Database(path.join(dataDir, 'ams.sqlite'), { readonly: true });
  try {
    return (db.prepare('select count(*) as n from assets').get() as { n: number }).n;
  } finally {
    db.close();
  }
};
const files = async (dir: string): Promise<string[]> => (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);

describe('graceful shutdown and AMS_WORKERS', () => {
  const dirs: string[] = [];
  const running: Started[] = [];
  const dataDir = async () => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-ops-'));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const s of running) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  /** Sends the head of an upload and waits until the server is receiving it into a temp file. */
  async function startUpload(s: Started, dir: string) {
    const { body, contentType } = multipartBody([{ field: 'Filename', filename: 'photo.jpg', data: await fixture('photo.jpg') }]);
    const up = postOnce(s.url, body, { authorization: `Bearer ${TOKEN}`, 'content-type': contentType });
    up.response.catch(() => {}); // an aborted upload rejects; the test checks what it left behind
    const half = Math.floor(body.length / 2);
    up.req.write(body.subarray(0, half));
    await waitFor(async () => (await fs.readdir(path.join(dir, 'tmp')).catch(() => [])).length > 0, 10_000, 'the temp file');
    return { up, rest: body.subarray(half) };
  }

  test('SIGTERM during an upload: it may finish within the deadline (201, stored), then the process exits 0', async () => {
    const dir = await dataDir();
    const s = await startProcess({ AMS_DATA_DIR: dir, AMS_TOKENS: TOKEN, AMS_SHUTDOWN_TIMEOUT_MS: '20000' });
    running.push(s);
    const { up, rest } = await startUpload(s, dir);
    s.child.kill('SIGTERM');
    await waitFor(() => s.output().includes('shutting down'), 10_000, 'the shutdown log line');
    up.req.end(rest);
    const res = await up.response;
    assert.equal(res.status, 201, res.text);
    assert.equal(await s.exited, 0);
    assert.equal(rows(dir), 1);
    assert.deepEqual(await files(path.join(dir, 'tmp')), []);
    assert.equal((await files(path.join(dir, 'blobs'))).length, 1);
  });

  test('SIGTERM during an upload that outlives the deadline: aborted cleanly (no row, no file), exit 0', async () => {
    const dir = await dataDir();
    const s = await startProcess({ AMS_DATA_DIR: dir, AMS_TOKENS: TOKEN, AMS_SHUTDOWN_TIMEOUT_MS: '300' });
    running.push(s);
    const { up } = await startUpload(s, dir);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    up.req.destroy();
    assert.equal(rows(dir), 0);
    assert.deepEqual(await files(path.join(dir, 'tmp')), []);
    assert.deepEqual(await files(path.join(dir, 'blobs')).catch(() => []), []);
    assert.match(s.output(), /shutdown deadline reached/);
  });

  test('AMS_WORKERS=2: two processes on one port each serve uploads; both see every asset', async () => {
    const dir = await dataDir();
    const s = await startProcess({ AMS_DATA_DIR: dir, AMS_TOKENS: TOKEN, AMS_WORKERS: '2' }, 2);
    running.push(s);
    const photo = await fixture('photo.jpg');
    const pids = new Set<number>();
    const ids: string[] = [];
    // Connections are dealt round-robin; a few uploads on fresh connections reach both workers.
    for (let i = 0; i < 6 && pids.size < 2; i++) {
      const { body, contentType } = multipartBody([{ field: 'Filename', filename: `p${i}.jpg`, data: photo }]);
      const up = postOnce(s.url, body, { authorization: `Bearer ${TOKEN}`, 'content-type': contentType, 'x-request-id': `w-${i}` });
      up.req.end(body);
      const res = await up.response;
      assert.equal(res.status, 201, res.text);
      ids.push(JSON.parse(res.text).id);
      await waitFor(() => s.output().includes(`"reqId":"w-${i}"`), 10_000, 'the request log line');
      const line = s.output().split('\n').find((l) => l.includes(`"reqId":"w-${i}"`) && l.includes('"statusCode":201'));
      pids.add(JSON.parse(line ?? '{}').pid);
    }
    assert.equal(pids.size, 2, `uploads served by ${[...pids].join(', ')}`);
    assert.ok(!pids.has(s.child.pid ?? -1), 'the primary serves nothing itself');
    for (const id of ids) assert.equal((await fetch(`${s.url}/assets/${id}`)).status, 200);
    // Whichever worker answers the scrape, it reports the uploads of both.
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`ams_http_requests_total\\{method="POST",route="/assets",status="201"\\} ${ids.length}\\n`));
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    assert.equal(rows(dir), ids.length);
  });
  test('AMS_WORKERS=2: upload rate limits count once for the whole cluster, not once per worker', async () => {
    const dir = await dataDir();
    const s = await startProcess({ AMS_DATA_DIR: dir, AMS_TOKENS: TOKEN, AMS_WORKERS: '2', AMS_UPLOAD_RATE_PER_TOKEN: '3', AMS_RATE_WINDOW_S: '3600' }, 2);
    running.push(s);
    const photo = await fixture('photo.jpg');
    const statuses: number[] = [];
    const pids = new Set<number>();
    // Fresh connections are dealt round-robin, so the uploads reach both workers; counted per
    // worker, 6 of these 8 would pass.
    for (let i = 0; i < 8; i++) {
      const { body, contentType } = multipartBody([{ field: 'Filename', filename: `r${i}.jpg`, data: photo }]);
      const up = postOnce(s.url, body, { authorization: `Bearer ${TOKEN}`, 'content-type': contentType, 'x-request-id': `rl-${i}` });
      up.req.end(body);
      const res = await up.response;
      statuses.push(res.status);
      if (res.status === 429) assert.match(JSON.parse(res.text).message, /token; retry after \d+ s/);
      await waitFor(() => s.output().includes(`"reqId":"rl-${i}","method"`), 10_000, 'the request log line');
      const line = s.output().split('\n').find((l) => l.includes(`"reqId":"rl-${i}","method"`));
      pids.add(JSON.parse(line ?? '{}').pid);
    }
    assert.equal(pids.size, 2, `requests served by ${[...pids].join(', ')}`);
    assert.deepEqual(statuses, [201, 201, 201, 429, 429, 429, 429, 429]);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    assert.equal(rows(dir), 3);
  });
});
