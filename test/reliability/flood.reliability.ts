import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fetchBytes, filesUnder, md5, noiseJpeg, rawUpload, rows, spawnServer, withComment } from './harness.js';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-flood-'));
after(() => fs.rm(dataDir, { recursive: true, force: true }));

/** Uploads stream to disk, so memory must not grow with the number in flight (200 × ~150 KB here). */
const RSS_BOUND = 400 * 1024 * 1024;

test('200 concurrent uploads of distinct files: every byte verified, memory bounded', { timeout: 120_000 }, async (t) => {
  const base = await noiseJpeg(400, 300);
  const files = Array.from({ length: 200 }, (_, i) => withComment(base, i));
  const server = await spawnServer(dataDir);
  try {
    const rssBefore = await server.peakRss();
    // Chunked with pauses so all 200 are genuinely open at once rather than served one by one.
    const results = await Promise.all(files.map((bytes, i) => rawUpload(server.url, bytes, `flood-${i}.jpg`, { chunk: 16 * 1024, pauseMs: 5 })));
    const statuses = results.map((r) => r.status);
    assert.deepEqual(statuses, files.map(() => 201), 'every upload accepted');
    const bodies = results.map((r) => JSON.parse(r.body) as { id: string; md5Checksum: string; href: string });
    assert.equal(new Set(bodies.map((b) => b.id)).size, 200);
    assert.equal(new Set(bodies.map((b) => b.md5Checksum)).size, 200, 'distinct bytes, so no dedupe');

    // Verify in batches of 20: bounded concurrency on the read side too.
    for (let i = 0; i < files.length; i += 20) {
      await Promise.all(
        bodies.slice(i, i + 20).map(async (b, j) => {
          const sent = files[i + j] as Buffer;
          assert.equal(b.md5Checksum, md5(sent));
          const got = await fetchBytes(`${server.url}${new URL(b.href).pathname}`);
          assert.equal(got.status, 200);
          assert.ok(got.bytes.equals(sent), `upload ${i + j} served back byte-identical`);
        }),
      );
    }
    assert.equal(rows(dataDir).length, 200);
    assert.deepEqual(await filesUnder(path.join(dataDir, 'tmp')), [], 'no temp file left');
    const peak = await server.peakRss();
    t.diagnostic(`server peak RSS ${(peak / 2 ** 20).toFixed(0)} MB (idle ${(rssBefore / 2 ** 20).toFixed(0)} MB)`);
    assert.ok(peak < RSS_BOUND, `peak RSS ${peak} under ${RSS_BOUND}`);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.kill();
  }
});
