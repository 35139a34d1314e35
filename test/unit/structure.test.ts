/**
 * The streaming structure checker: media from real encoders (sharp in-test, the committed
 * fixtures for what needs ffmpeg or ImageMagick) must pass however the stream is cut into
 * chunks, and truncated or damaged copies must be refused with a reason.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { createStructureChecker, type Container, type StructureVerdict } from '../../src/media/structure/index.js';

const media = join(import.meta.dirname, '..', 'fixtures', 'media');
const fixture = (name: string): Promise<Buffer> => readFile(join(media, name));

let dir: string;
let files = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ams-structure-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Deterministic chunk sizes, so a failure with "tiny" chunks can be replayed. */
function* seededSizes(seed: number, min: number, max: number): Generator<number> {
  let state = seed >>> 0;
  for (;;) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    yield min + (((t ^ (t >>> 14)) >>> 0) % (max - min + 1));
  }
}

/** 'reused': tiny chunks copied through one scratch buffer, as a caller recycling its buffers would. */
type Split = 'whole' | 'tiny' | '64KiB' | 'reused';
const SPLITS: readonly Split[] = ['whole', 'tiny', '64KiB', 'reused'];

/** Streams `bytes` through a checker the way an upload does, then finishes on a real temp file. */
async function verdictOf(bytes: Buffer, split: Split = 'whole'): Promise<StructureVerdict> {
  const checker = createStructureChecker();
  const sizes = seededSizes(bytes.length, 1, 17);
  const scratch = Buffer.alloc(17);
  for (let at = 0; at < bytes.length; ) {
    const size = split === 'whole' ? bytes.length : split === '64KiB' ? 65_536 : sizes.next().value!;
    const chunk = bytes.subarray(at, at + size);
    checker.update(split === 'reused' ? scratch.subarray(0, chunk.copy(scratch)) : chunk);
    at += size;
  }
  const path = join(dir, `file-${files++}`);
  await writeFile(path, bytes);
  return checker.finish({ path, size: bytes.length });
}

async function assertAccepted(bytes: Buffer, container: Container, split: Split = 'whole'): Promise<void> {
  assert.deepEqual(await verdictOf(bytes, split), { ok: true, container }, `${split} chunks`);
}

async function assertRefused(bytes: Buffer, container: Container, reason?: RegExp): Promise<string> {
  const verdict = await verdictOf(bytes);
  assert.equal(verdict.ok, false, `expected a refusal, got ${JSON.stringify(verdict)}`);
  assert.equal(verdict.container, container);
  if (verdict.ok) return '';
  assert.ok(verdict.reason.length > 0);
  if (reason) assert.match(verdict.reason, reason);
  return verdict.reason;
}

/** A gradient with seeded noise: real entropy-coded data with 0xFF00 stuffing in JPEG scans. */
function noisyImage(width = 320, height = 240): Sharp {
  const raw = Buffer.alloc(width * height * 3);
  const noise = seededSizes(42, 0, 80);
  for (let i = 0; i < raw.length; i++) raw[i] = (((i / 3) % width) * 0.6 + noise.next().value!) & 0xff;
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

let encoded: Record<string, { bytes: Buffer; container: Container }>;
before(async () => {
  const make = async (container: Container, image: Sharp) => ({ bytes: await image.toBuffer(), container });
  encoded = {
    'baseline JPEG': await make('jpeg', noisyImage().jpeg({ quality: 90 })),
    'progressive JPEG': await make('jpeg', noisyImage().jpeg({ quality: 90, progressive: true })),
    'mozjpeg JPEG': await make('jpeg', noisyImage().jpeg({ quality: 90, mozjpeg: true })),
    PNG: await make('png', noisyImage().png()),
    'interlaced PNG': await make('png', noisyImage().png({ progressive: true })),
    GIF: await make('gif', noisyImage().gif()),
    'lossy WebP': await make('webp', noisyImage().webp()),
    'lossless WebP': await make('webp', noisyImage().webp({ lossless: true })),
    TIFF: await make('tiff', noisyImage().tiff()),
    'tiled TIFF': await make('tiff', noisyImage().tiff({ tile: true, tileWidth: 64, tileHeight: 64 })),
    AVIF: await make('isobmff', noisyImage(64, 48).avif({ effort: 0 })),
  };
});

const FIXTURES: Record<string, Container> = {
  'photo.jpg': 'jpeg', 'exif-6.jpg': 'jpeg', 'image.png': 'png', 'anim.gif': 'gif', 'image.webp': 'webp',
  'image.avif': 'isobmff', 'image.heic': 'isobmff', 'image.tiff': 'tiff', 'image.bmp': 'bmp',
  'clip.mp4': 'isobmff', 'rotated-90.mp4': 'isobmff', 'clip.mov': 'isobmff', 'clip.webm': 'ebml',
  'clip.mkv': 'ebml', 'clip.avi': 'avi', 'clip.3gp': 'isobmff',
};

describe('media from real encoders passes, however the stream is chunked', () => {
  test('sharp output: JPEG, PNG, GIF, WebP, TIFF, AVIF', async () => {
    for (const [name, { bytes, container }] of Object.entries(encoded)) {
      for (const split of SPLITS) await assertAccepted(bytes, container, split).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
    }
  });
  for (const [name, container] of Object.entries(FIXTURES)) {
    test(name, async () => {
      const bytes = await fixture(name);
      for (const split of SPLITS) await assertAccepted(bytes, container, split);
    });
  }
});

describe('truncation is refused', () => {
  const cuts = (length: number) => [Math.floor(length / 2), length - 1, length - 10];
  test('sharp output cut at half, minus 1 byte, minus 10 bytes', async () => {
    for (const [name, { bytes, container }] of Object.entries(encoded)) {
      for (const cut of cuts(bytes.length)) {
        await assertRefused(bytes.subarray(0, cut), container).catch((e: Error) => assert.fail(`${name} cut at ${cut}: ${e.message}`));
      }
    }
  });
  for (const [name, container] of Object.entries(FIXTURES)) {
    test(name, async () => {
      const bytes = await fixture(name);
      for (const cut of cuts(bytes.length)) await assertRefused(bytes.subarray(0, cut), container);
    });
  }
  test('reasons say what ran out', async () => {
    const jpeg = encoded['baseline JPEG']!.bytes;
    await assertRefused(jpeg.subarray(0, -1), 'jpeg', /^JPEG ends before its end-of-image marker$/);
    await assertRefused(encoded.PNG!.bytes.subarray(0, -1), 'png', /^PNG chunk IEND runs past the end of the file$/);
    await assertRefused(encoded.GIF!.bytes.subarray(0, -1), 'gif', /^GIF ends before its trailer$/);
    const mp4 = await fixture('clip.mp4');
    await assertRefused(mp4.subarray(0, mp4.length / 2), 'isobmff', /^MP4 box '(mdat|moov)' runs past the end of the file$/);
    await assertRefused((await fixture('clip.webm')).subarray(0, -1), 'ebml', /^WebM \w+ runs past the end of the file$/);
  });
  test('a file cut inside its first bytes is refused by the format its signature names', async () => {
    await assertRefused(encoded['baseline JPEG']!.bytes.subarray(0, 3), 'jpeg');
    await assertRefused(encoded.PNG!.bytes.subarray(0, 5), 'png');
    await assertRefused((await fixture('clip.mp4')).subarray(0, 11), 'isobmff');
  });
});

/** Offset of the first chunk/box/segment named `type` (its 4 type bytes, for PNG/RIFF/MP4). */
function find(bytes: Buffer, type: string): number {
  const at = bytes.indexOf(type, 0, 'latin1');
  assert.ok(at > 0, `${type} not found`);
  return at;
}

describe('damage is refused', () => {
  test('a flipped byte inside PNG IDAT breaks its CRC', async () => {
    const png = Buffer.from(encoded.PNG!.bytes);
    png[find(png, 'IDAT') + 100]! ^= 0x01;
    await assertRefused(png, 'png', /^PNG chunk IDAT has a bad CRC$/);
    await assertRefused(await fixture('bad-crc.png'), 'png', /^PNG chunk IDAT has a bad CRC$/);
  });

  test('a JPEG segment length that is wrong loses the marker chain', async () => {
    const jpeg = encoded['baseline JPEG']!.bytes;
    const lengthAt = 4; // of the first segment after SOI: sharp writes DQT there
    assert.equal(jpeg.readUInt16BE(2), 0xffdb);
    for (const delta of [1, -1, 3]) {
      const broken = Buffer.from(jpeg);
      broken.writeUInt16BE(jpeg.readUInt16BE(lengthAt) + delta, lengthAt);
      await assertRefused(broken, 'jpeg', /^JPEG has data where a marker should be$/);
    }
    const tooShort = Buffer.from(jpeg);
    tooShort.writeUInt16BE(1, lengthAt);
    await assertRefused(tooShort, 'jpeg', /^JPEG segment 0xFFDB has an invalid length$/);
    const huge = Buffer.from(jpeg);
    huge.writeUInt16BE(0xffff, lengthAt);
    await assertRefused(huge.subarray(0, 1000), 'jpeg', /^JPEG segment 0xFFDB runs past the end of the file$/);
  });

  test('BMP size fields that lie', async () => {
    const bmp = await fixture('image.bmp');
    const withSize = (size: number, offset = bmp.readUInt32LE(10)) => {
      const copy = Buffer.from(bmp);
      copy.writeUInt32LE(size, 2);
      copy.writeUInt32LE(offset, 10);
      return copy;
    };
    await assertRefused(withSize(bmp.length + 100), 'bmp', /^BMP file size field is larger than the file$/);
    await assertRefused(withSize(10), 'bmp', /^BMP file size field is smaller than its pixel data offset$/);
    await assertRefused(withSize(bmp.length, bmp.length + 4), 'bmp', /smaller than its pixel data offset/);
    await assertRefused(withSize(bmp.length, 20), 'bmp', /^BMP pixel data offset points inside its header$/);
    await assertRefused(withSize(bmp.length, bmp.readUInt32LE(10) + 8), 'bmp', /^BMP pixel data runs past the end of the file$/);
  });

  test('WebP RIFF sizes that lie', async () => {
    const webp = encoded['lossy WebP']!.bytes;
    const withRiffSize = (size: number) => {
      const copy = Buffer.from(webp);
      copy.writeUInt32LE(size, 4);
      return copy;
    };
    await assertRefused(withRiffSize(webp.length), 'webp', /^WebP RIFF container runs past the end of the file$/);
    await assertRefused(withRiffSize(webp.length - 10), 'webp', /runs past the end of its RIFF container$/);
    const chunk = Buffer.from(webp);
    chunk.writeUInt32LE(webp.readUInt32LE(16) + 2, 16); // the first chunk's size
    await assertRefused(chunk, 'webp', /^WebP chunk 'VP8 ' runs past the end of its RIFF container$/);
  });

  test('a TIFF strip offset past the end of the file', async () => {
    const tiff = Buffer.from(encoded.TIFF!.bytes);
    assert.equal(tiff.toString('latin1', 0, 2), 'II');
    const ifd = tiff.readUInt32LE(4);
    for (let i = 0; i < tiff.readUInt16LE(ifd); i++) {
      const entry = ifd + 2 + i * 12;
      if (tiff.readUInt16LE(entry) !== 273) continue;
      assert.equal(tiff.readUInt16LE(entry + 2), 4, 'StripOffsets as LONG');
      const first = tiff.readUInt32LE(entry + 4) === 1 ? entry + 8 : tiff.readUInt32LE(entry + 8);
      tiff.writeUInt32LE(tiff.length + 10, first);
    }
    await assertRefused(tiff, 'tiff', /^TIFF strip data lies past the end of the file$/);
  });

  test('TIFF image directories that loop back', async () => {
    const tiff = Buffer.from(encoded.TIFF!.bytes);
    const ifd = tiff.readUInt32LE(4);
    tiff.writeUInt32LE(ifd, ifd + 2 + tiff.readUInt16LE(ifd) * 12);
    await assertRefused(tiff, 'tiff', /^TIFF image directories form a loop$/);
  });

  test('MP4 with a box size that overruns, or bytes after its last box', async () => {
    const mp4 = await fixture('clip.mp4');
    const free = Buffer.from(mp4);
    free.writeUInt32BE(mp4.length, find(mp4, 'moov') - 4);
    await assertRefused(free, 'isobmff', /^MP4 box 'moov' runs past the end of the file$/);
    await assertRefused(Buffer.concat([mp4, Buffer.alloc(16)]), 'isobmff', /^MP4 has a damaged box header$/);
    await assertRefused(Buffer.concat([mp4, Buffer.alloc(3)]), 'isobmff', /^MP4 has 3 stray bytes after its last box$/);
  });

  test('AVI with its RIFF size too large', async () => {
    const avi = Buffer.from(await fixture('clip.avi'));
    avi.writeUInt32LE(avi.readUInt32LE(4) + 100, 4);
    await assertRefused(avi, 'avi', /^AVI RIFF container runs past the end of the file$/);
  });
});

describe('decisions', () => {
  test('bytes after JPEG EOI, PNG IEND and the GIF trailer are accepted (cameras append data there)', async () => {
    const tail = Buffer.from('trailing vendor data \xff\xd8\xff', 'latin1');
    for (const name of ['baseline JPEG', 'PNG', 'GIF'] as const) {
      const { bytes, container } = encoded[name]!;
      await assertAccepted(Buffer.concat([bytes, tail]), container);
    }
  });

  test('WebP allows one pad byte after its RIFF container, not more', async () => {
    const webp = encoded['lossy WebP']!.bytes;
    await assertAccepted(Buffer.concat([webp, Buffer.alloc(1)]), 'webp');
    await assertRefused(Buffer.concat([webp, Buffer.alloc(2)]), 'webp', /^WebP has data after the end of its RIFF container$/);
  });

  test('restart markers inside a JPEG scan do not end it', async () => {
    const jpeg = encoded['baseline JPEG']!.bytes;
    const scanData = find(jpeg, '\xff\xda') + 2 + jpeg.readUInt16BE(find(jpeg, '\xff\xda') + 2) + 50;
    const withRestart = Buffer.concat([jpeg.subarray(0, scanData), Buffer.from([0xff, 0xd3]), jpeg.subarray(scanData)]);
    for (const split of SPLITS) await assertAccepted(withRestart, 'jpeg', split);
  });

  test('an EBML Segment of unknown size (live recordings) is accepted; its children are still checked', async () => {
    const webm = Buffer.from(await fixture('clip.webm'));
    const sizeAt = find(webm, '\x18\x53\x80\x67') + 4;
    assert.equal(webm[sizeAt], 0x01, 'an 8-byte Segment size');
    webm.fill(0xff, sizeAt + 1, sizeAt + 8);
    for (const split of SPLITS) await assertAccepted(webm, 'ebml', split);
    await assertRefused(webm.subarray(0, webm.length / 2), 'ebml', /runs past the end of the file$/);
  });

  test('unknown signatures are left to the type check', async () => {
    for (const name of ['doc.pdf', 'not-image.zip', 'page.html']) await assertAccepted(await fixture(name), 'unknown');
    await assertAccepted(Buffer.alloc(0), 'unknown');
  });

  test('a hostile file of a million empty boxes is refused, not walked forever', async () => {
    const box = Buffer.from('\x00\x00\x00\x08free', 'latin1');
    const ftyp = Buffer.from('\x00\x00\x00\x10ftypisom\x00\x00\x02\x00', 'latin1');
    const hostile = Buffer.concat([ftyp, Buffer.concat(Array.from({ length: 600_000 }, () => box))]);
    await assertRefused(hostile, 'isobmff', /^MP4 has too many parts to check$/);
  });
});
