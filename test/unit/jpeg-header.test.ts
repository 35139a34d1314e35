/**
 * The JS JPEG header reader must agree with sharp wherever it answers, answer for what real
 * encoders write, and step aside (null, so sharp decides) for anything unusual.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { readJpegHeader } from '../../src/media/jpeg-header.js';

const media = join(import.meta.dirname, '..', 'fixtures', 'media');

async function sharpSays(jpeg: Buffer) {
  const m = await sharp(jpeg).metadata();
  return { width: m.width, height: m.height, orientation: m.orientation ?? 1 };
}

/** The marker segments before SOS: where each starts and its length field. */
function segments(jpeg: Buffer): Array<{ marker: number; at: number; length: number }> {
  const out = [];
  for (let at = 2; jpeg[at + 1] !== 0xda; at += 2 + jpeg.readUInt16BE(at + 2)) {
    out.push({ marker: jpeg[at + 1] ?? 0, at, length: jpeg.readUInt16BE(at + 2) });
  }
  return out;
}

const patched = (jpeg: Buffer, at: number, byte: number) => {
  const copy = Buffer.from(jpeg);
  copy[at] = byte;
  return copy;
};

describe('agrees with sharp on what real encoders write', () => {
  const made: Array<[string, () => Promise<Buffer>]> = [];
  const base = () => sharp({ create: { width: 48, height: 20, channels: 3, background: '#336699' } });
  for (let orientation = 1; orientation <= 8; orientation++) {
    for (const progressive of [false, true]) {
      made.push([`orientation ${orientation}${progressive ? ', progressive' : ''}`, () => base().withMetadata({ orientation }).jpeg({ progressive }).toBuffer()]);
    }
  }
  made.push(['no EXIF at all', () => base().jpeg().toBuffer()]);
  made.push(['greyscale', () => base().greyscale().jpeg().toBuffer()]);
  made.push(['CMYK with a 1 MB ICC profile', () => base().withMetadata({ orientation: 6 }).withIccProfile('cmyk').jpeg().toBuffer()]);
  made.push(['4:4:4, optimised tables', () => base().jpeg({ chromaSubsampling: '4:4:4', optimiseCoding: true }).toBuffer()]);
  for (const name of ['photo.jpg', 'exif-6.jpg']) made.push([`fixture ${name}`, () => readFile(join(media, name))]);
  for (const [what, make] of made) {
    test(what, async () => {
      const jpeg = await make();
      assert.deepEqual(readJpegHeader(jpeg), await sharpSays(jpeg));
    });
  }
});

describe('steps aside for anything unusual', async () => {
  const jpeg = await sharp({ create: { width: 48, height: 20, channels: 3, background: '#336699' } }).withMetadata({ orientation: 3 }).jpeg().toBuffer();
  const segs = segments(jpeg);
  const sof = segs.find((s) => s.marker === 0xc0)!;
  const dht = segs.find((s) => s.marker === 0xc4)!;
  const exif = segs.find((s) => s.marker === 0xe1)!;
  const cases: Array<[string, Buffer]> = [
    ['the header cut before SOS', jpeg.subarray(0, sof.at + 4)],
    ['a lossless frame (SOF3)', patched(jpeg, sof.at + 1, 0xc3)],
    ['an arithmetic-coded frame (SOF9)', patched(jpeg, sof.at + 1, 0xc9)],
    ['12-bit samples', patched(jpeg, sof.at + 4, 12)],
    ['zero width', Buffer.concat([jpeg.subarray(0, sof.at + 7), Buffer.from([0, 0]), jpeg.subarray(sof.at + 9)])],
    ['Huffman counts that do not fill the segment', patched(jpeg, dht.at + 5, (jpeg[dht.at + 5] ?? 0) + 1)],
    ['two EXIF segments', Buffer.concat([jpeg.subarray(0, exif.at), jpeg.subarray(exif.at, exif.at + 2 + exif.length), jpeg.subarray(exif.at)])],
    ['not a JPEG', Buffer.from('GIF89a, not a JPEG at all')],
  ];
  for (const [what, bytes] of cases) {
    test(what, () => {
      assert.equal(readJpegHeader(bytes), null);
    });
  }
  test('(the unpatched file is read)', () => {
    assert.deepEqual(readJpegHeader(jpeg), { width: 48, height: 20, orientation: 3 });
  });
});
