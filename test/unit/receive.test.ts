/** The receive pass over large streams: background syncs on the way in, hashing on or off the event loop. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { receiveToTempFile } from '../../src/ingest/receive.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ams-receive-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('a 72 MiB upload arrives whole with its digests (background fdatasyncs on the way)', async () => {
  const chunk = Buffer.alloc(1024 * 1024);
  const chunks = Array.from({ length: 72 }, (_, i) => Buffer.from(chunk.fill(i)));
  const received = await receiveToTempFile(Readable.from(chunks), dir);
  const whole = Buffer.concat(chunks);
  assert.equal(received.size, whole.length);
  assert.equal(received.md5, createHash('md5').update(whole).digest('hex'));
  assert.equal(received.sha256, createHash('sha256').update(whole).digest('hex'));
  assert.ok((await readFile(received.path)).equals(whole));
});

test('hashed in threads (a large declared size), the digests are the same, whatever the chunking', async () => {
  const whole = Buffer.alloc(9 * 1024 * 1024 + 12_345);
  for (let i = 0; i < whole.length; i += 4096) whole.writeUInt32LE(i, i);
  // Odd chunk sizes straddle the threads' 1 MiB batches.
  const chunks: Buffer[] = [];
  for (let at = 0, n = 1; at < whole.length; at += n, n = (n * 7 + 13) % 300_000) chunks.push(whole.subarray(at, at + n));
  const received = await receiveToTempFile(Readable.from(chunks), dir, whole.length);
  assert.equal(received.md5, createHash('md5').update(whole).digest('hex'));
  assert.equal(received.sha256, createHash('sha256').update(whole).digest('hex'));
  assert.ok((await readFile(received.path)).equals(whole));
});

test('a stream that fails while hashed in threads leaves no temp file, and the threads serve the next upload', async () => {
  const failDir = await mkdtemp(join(dir, 'fail-'));
  const failing = new Readable({
    read() {
      this.push(Buffer.alloc(3 * 1024 * 1024, 1));
      this.destroy(new Error('client went away'));
    },
  });
  await assert.rejects(receiveToTempFile(failing, failDir, 64 * 1024 * 1024), /client went away/);
  assert.deepEqual(await readdir(failDir), []);
  const again = Buffer.alloc(10 * 1024 * 1024, 2);
  const received = await receiveToTempFile(Readable.from([again]), dir, again.length);
  assert.equal(received.sha256, createHash('sha256').update(again).digest('hex'));
});

test('a stream that fails before its temp file is open leaves no temp file (the open must not land after the cleanup)', async () => {
  const failDir = await mkdtemp(join(dir, 'early-'));
  // Clients that go away as their file part begins: each source fails before the temp file's
  // open(2) has come back from the thread pool. The race is narrow (the cleanup's unlink must beat
  // an open queued before it), so it is run 1000 times, 20 at once to keep the pool busy: without
  // the fix about 6 files were left each run.
  for (let i = 0; i < 1000; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const failing = new PassThrough();
        setImmediate(() => failing.destroy(new Error('client went away')));
        await assert.rejects(receiveToTempFile(failing, failDir), /client went away/);
      }),
    );
  }
  // A late open would have created its file within milliseconds of its rejection.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(await readdir(failDir), []);
});
