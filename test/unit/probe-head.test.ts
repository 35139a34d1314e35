/**
 * Sniffing and probing from the head the receive pass keeps must answer exactly as reading the file
 * does — from the head when the answer is in it, from the file when it is not.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { receiveToTempFile } from '../../src/ingest/receive.js';
import { createMediaProbe, type MediaProbe } from '../../src/media/probe.js';
import { sniffMediaFormat } from '../../src/media/sniff.js';
import { FILE_HEAD_BYTES, type FileHead } from '../../src/media/types.js';

const media = join(import.meta.dirname, '..', 'fixtures', 'media');

let probe: MediaProbe;
let dir: string;
before(async () => {
  probe = createMediaProbe({ maxPixels: 50_000_000 });
  dir = await mkdtemp(join(tmpdir(), 'ams-head-'));
});
after(async () => {
  await probe.close();
  await rm(dir, { recursive: true, force: true });
});

/** What sniff + probe say (the result, or the error's code and message). */
async function outcome(path: string, head?: FileHead): Promise<unknown> {
  try {
    return await probe.probe(path, await sniffMediaFormat(path, head), head);
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    return { code, message };
  }
}

/** Where a JPEG's SOF0–2 marker is, walking the segments (their payloads may hold any bytes). */
function sofOffset(jpeg: Buffer): number {
  for (let at = 2; at + 4 <= jpeg.length && jpeg[at] === 0xff; at += 2 + jpeg.readUInt16BE(at + 2)) {
    const marker = jpeg[at + 1] ?? 0;
    if (marker >= 0xc0 && marker <= 0xc2) return at;
  }
  return -1;
}

describe('every fixture gives the same answer from its head as from its file', async () => {
  const names = (await readdir(media)).filter((n) => n !== 'expected.json');
  for (const name of names) {
    test(name, async () => {
      const path = join(media, name);
      const bytes = await readFile(path);
      const fromFile = await outcome(path);
      assert.deepEqual(await outcome(path, { bytes, complete: true }), fromFile, 'whole file as head');
      // Cut heads: a header cut short must fall back to the file, never answer differently.
      for (const cut of [16, 300, 4096]) {
        if (cut >= bytes.length) continue;
        assert.deepEqual(await outcome(path, { bytes: bytes.subarray(0, cut), complete: false }), fromFile, `first ${cut} bytes`);
      }
    });
  }
});

describe('the receive pass keeps the head', () => {
  test('a small upload is kept whole; a large one keeps its first FILE_HEAD_BYTES', async () => {
    const small = Buffer.from('small file');
    const large = Buffer.alloc(FILE_HEAD_BYTES * 3 + 5, 7);
    large.write('marker', FILE_HEAD_BYTES - 3);
    // Chunks that straddle the head's end.
    const r1 = await receiveToTempFile(Readable.from([small]), dir);
    const r2 = await receiveToTempFile(Readable.from([large.subarray(0, 1000), large.subarray(1000, 70_000), large.subarray(70_000)]), dir);
    assert.deepEqual(r1.head, { bytes: small, complete: true });
    assert.equal(r2.head.complete, false);
    assert.deepEqual(r2.head.bytes, large.subarray(0, FILE_HEAD_BYTES));
  });

  test('a JPEG whose SOF lies past the head (a print CMYK file with a 1 MB ICC profile) is probed from the file', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#808080' } })
      .withMetadata({ orientation: 6 })
      .withIccProfile('cmyk')
      .jpeg()
      .toBuffer();
    const received = await receiveToTempFile(Readable.from([jpeg]), dir);
    assert.equal(received.head.complete, false);
    assert.ok(sofOffset(jpeg) > FILE_HEAD_BYTES, 'the fixture must put SOF past the head');
    const format = await sniffMediaFormat(received.path, received.head);
    assert.equal(format.mimeType, 'image/jpeg');
    const got = await probe.probe(received.path, format, received.head);
    assert.deepEqual([got.width, got.height, got.orientation], [32, 64, 6], 'EXIF orientation 6 turns 64x32 upright');
  });
});
