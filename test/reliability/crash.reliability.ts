import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { CLI } from '../helpers/process.js';
import { fetchBytes, filesUnder, md5, noiseJpeg, orphanBlobs, rawUpload, rows, sha256, spawnServer, withComment } from './harness.js';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-crash-'));
after(() => fs.rm(dataDir, { recursive: true, force: true }));

test('kill -9 during 20 concurrent uploads: every 201 survives intact, nothing half-made is visible', { timeout: 90_000 }, async (t) => {
  const base = await noiseJpeg(900, 700); // ~0.5 MB: each upload is on the wire for a while
  const files = Array.from({ length: 20 }, (_, i) => withComment(base, i));
  const server = await spawnServer(dataDir);

  const created = new Map<string, Buffer>(); // id → the bytes the client sent
  let answered = 0;
  // Staggered, throttled bodies: when the process dies some uploads are done, some mid-body,
  // some between fsync and commit.
  const uploads = files.map(async (bytes, i) => {
    await sleep(i * 40);
    const res = await rawUpload(server.url, bytes, `crash-${i}.jpg`, { chunk: 32 * 1024, pauseMs: 10 });
    answered++;
    if (res.status === 201) created.set(JSON.parse(res.body).id as string, bytes);
  });
  const deadline = Date.now() + 30_000;
  while (created.size < 5 && Date.now() < deadline) await sleep(5);
  assert.ok(created.size >= 5, 'some uploads completed before the kill');
  assert.ok(answered < files.length, 'some uploads were still in flight at the kill');
  await server.kill('SIGKILL');
  await Promise.all(uploads);
  t.diagnostic(`${created.size} uploads got 201 before SIGKILL; ${files.length - created.size} were cut off`);

  const restarted = await spawnServer(dataDir);
  try {
    // Every acknowledged upload: same metadata, same bytes.
    for (const [id, bytes] of created) {
      const meta = await fetch(`${restarted.url}/assets/${id}`);
      assert.equal(meta.status, 200, `asset ${id} survived`);
      const body = (await meta.json()) as { md5Checksum: string; href: string };
      assert.equal(body.md5Checksum, md5(bytes));
      const file = await fetchBytes(`${restarted.url}${new URL(body.href).pathname}`);
      assert.equal(file.status, 200);
      assert.ok(file.bytes.equals(bytes), `asset ${id}: bytes served back identical`);
    }
    // Every row (acknowledged or committed just before the kill) points at a complete blob of its hash.
    const all = rows(dataDir);
    for (const id of created.keys()) assert.ok(all.some((r) => r.id === id));
    for (const r of all) {
      const blob = await fs.readFile(path.join(dataDir, 'blobs', ...r.blob_key.split('/')));
      assert.equal(sha256(blob), r.sha256, `row ${r.id} points at its complete blob`);
      assert.equal(md5(blob), r.md5);
    }
    // An unacknowledged row can only be an upload committed in the instant before the kill.
    assert.ok(all.length - created.size <= files.length - created.size);
    t.diagnostic(`${all.length - created.size} rows committed without their 201 reaching the client (intact)`);
    assert.deepEqual(await filesUnder(path.join(dataDir, 'tmp')), [], 'no temp file survives the restart');

    // What the crash left half-made (a blob linked, its row never committed) is `ams gc`'s to remove.
    const before = await orphanBlobs(dataDir);
    t.diagnostic(`orphan blobs after the crash: ${before.length}`);
    assert.ok(before.length <= files.length - created.size);
    const gc = spawnSync(process.execPath, [CLI, 'gc'], {
      env: { PATH: process.env.PATH ?? '', AMS_DATA_DIR: dataDir, AMS_GC_GRACE_S: '0', AMS_LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(gc.status, 0, `ams gc failed:\n${gc.stdout}\n${gc.stderr}`);
    assert.deepEqual(await orphanBlobs(dataDir), [], 'after ams gc no orphan blob remains');
    assert.deepEqual(await filesUnder(path.join(dataDir, 'tmp')), [], 'nor any temp file');
    for (const [id, bytes] of created) {
      const served = await fetchBytes(`${restarted.url}/images/${id}.jpg`);
      assert.equal(served.status, 200);
      assert.equal(md5(served.bytes), md5(bytes), `asset ${id} is still intact after ams gc`);
    }
  } finally {
    await restarted.kill();
  }
});
