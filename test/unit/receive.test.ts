/** The receive pass over a stream large enough to be synced in the background on its way in. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
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
