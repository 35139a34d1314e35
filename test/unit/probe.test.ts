/**
 * sniff + probe against the committed fixtures (test/fixtures/README.md says what each one is).
 * The good files must give exactly what the generator told the encoders; the bad ones a typed error.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AmsError } from '../../src/errors.js';
import { createMediaProbe, naturalSize, normaliseRotation, type MediaProbe } from '../../src/media/probe.js';
import { classifyMarkup, sniffMediaFormat } from '../../src/media/sniff.js';
import type { ProbeResult } from '../../src/media/types.js';

const media = join(import.meta.dirname, '..', 'fixtures', 'media');
const fixture = (name: string) => join(media, name);
type Expected = Omit<ProbeResult, 'orientation'>;
const expected = JSON.parse(await readFile(fixture('expected.json'), 'utf8')) as Record<string, Expected>;

/** Orientation is not in expected.json (it holds the displayed size); these are the non-default ones. */
const ORIENTATION: Record<string, number> = { 'exif-6.jpg': 6, 'rotated-90.mp4': 90 };

async function rejectsWith(promise: Promise<unknown>, code: string, text?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AmsError, `expected an AmsError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (text) assert.ok(err.message.includes(text), `message ${JSON.stringify(err.message)} lacks ${text}`);
    return true;
  });
}

let probe: MediaProbe;
before(() => {
  probe = createMediaProbe({ maxPixels: 50_000_000 });
});
after(() => probe.close());

describe('every good fixture gives exactly its expected values', () => {
  for (const [name, want] of Object.entries(expected)) {
    test(name, async () => {
      const format = await sniffMediaFormat(fixture(name));
      assert.deepEqual(format, { kind: want.kind, mimeType: want.mimeType, ext: want.ext });
      const got = await probe.probe(fixture(name), format);
      const defaultOrientation = want.kind === 'image' ? 1 : 0;
      assert.deepEqual(got, { ...want, orientation: ORIENTATION[name] ?? defaultOrientation });
    });
  }
});

describe('refusals', () => {
  test('bomb.png is refused from its header, never decoded', async () => {
    const format = await sniffMediaFormat(fixture('bomb.png'));
    assert.equal(format.mimeType, 'image/png');
    // Even a 1-pixel limit names the declared size: the refusal comes from IHDR, not a decoder.
    const tiny = createMediaProbe({ maxPixels: 1, checkImageData: true });
    await rejectsWith(tiny.probe(fixture('bomb.png'), format), 'TOO_MANY_PIXELS', '100000x100000');
    await tiny.close();
    // Allowed through, it returns the header's 10^10 pixels at once: nothing tried to decode them.
    const huge = createMediaProbe({ maxPixels: 100_000 * 100_000 });
    const got = await huge.probe(fixture('bomb.png'), format);
    assert.deepEqual([got.width, got.height], [100_000, 100_000]);
    await huge.close();
  });

  const unsupported: [string, string][] = [
    ['not-image.zip', 'application/zip'],
    ['doc.pdf', 'application/pdf'],
    ['prog.elf', 'application/x-elf'],
    ['page.html', 'text/html'],
    ['expected.json', 'unrecognised content'],
  ];
  for (const [name, detected] of unsupported) {
    test(`${name} is unsupported, naming ${detected}`, async () => {
      await rejectsWith(sniffMediaFormat(fixture(name)), 'UNSUPPORTED_MEDIA', `(${detected})`);
    });
  }

  test('script.svg is refused as SVG', async () => {
    await rejectsWith(sniffMediaFormat(fixture('script.svg')), 'SVG_REFUSED');
  });

  test('a JPEG named .png is still image/jpeg: the name is never read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ams-sniff-'));
    try {
      await copyFile(fixture('photo.jpg'), join(dir, 'photo.png'));
      const format = await sniffMediaFormat(join(dir, 'photo.png'));
      assert.deepEqual(format, { kind: 'image', mimeType: 'image/jpeg', ext: 'jpg' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an AVIF whose major brand is mif1 is AVIF, not HEIC', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ams-sniff-'));
    try {
      const bytes = Buffer.from(await readFile(fixture('image.avif')));
      assert.equal(bytes.toString('latin1', 8, 12), 'avif');
      bytes.write('mif1', 8, 'latin1'); // the compatible brands still list avif
      await writeFile(join(dir, 'x'), bytes);
      const format = await sniffMediaFormat(join(dir, 'x'));
      assert.deepEqual(format, { kind: 'image', mimeType: 'image/avif', ext: 'avif' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('truncated.mp4 (moov intact, mdat cut) is corrupt', async () => {
    const format = await sniffMediaFormat(fixture('truncated.mp4'));
    await rejectsWith(probe.probe(fixture('truncated.mp4'), format), 'CORRUPT_MEDIA', 'ends early');
  });

  test('an image without a video track is not a video', async () => {
    await rejectsWith(probe.probe(fixture('photo.jpg'), { kind: 'video', mimeType: 'video/mp4', ext: 'mp4' }),
      'CORRUPT_MEDIA', 'no video track');
  });

  test('bad image data: header-only by default, corrupt with checkImageData', async () => {
    const checking = createMediaProbe({ maxPixels: 50_000_000, checkImageData: true });
    try {
      for (const name of ['bad-crc.png', 'truncated.jpg']) {
        const format = await sniffMediaFormat(fixture(name));
        const headerOnly = await probe.probe(fixture(name), format);
        assert.equal(headerOnly.mimeType, format.mimeType);
        await rejectsWith(checking.probe(fixture(name), format), 'CORRUPT_MEDIA');
      }
      // The check does not refuse good files, HEIC (store-only, undecodable here) included.
      for (const name of ['photo.jpg', 'image.png', 'anim.gif', 'image.heic', 'image.bmp', 'image.avif']) {
        await checking.probe(fixture(name), await sniffMediaFormat(fixture(name)));
      }
    } finally {
      await checking.close();
    }
  });
});

test('concurrent video probes are serialised and each gets its own answer', async () => {
  const names = Object.keys(expected).filter((name) => expected[name]?.kind === 'video');
  const jobs = [...names, ...names, ...names].map(async (name) => {
    const got = await probe.probe(fixture(name), await sniffMediaFormat(fixture(name)));
    return [name, got] as const;
  });
  // One failure in the queue must not poison the calls behind it.
  const broken = probe.probe(fixture('truncated.mp4'), { kind: 'video', mimeType: 'video/mp4', ext: 'mp4' });
  await rejectsWith(broken, 'CORRUPT_MEDIA');
  for (const [name, got] of await Promise.all(jobs)) {
    assert.deepEqual([got.width, got.height, got.durationMs], [
      expected[name]?.width, expected[name]?.height, expected[name]?.durationMs,
    ], name);
  }
});

test('a closed probe refuses new work', async () => {
  const closing = createMediaProbe({ maxPixels: 1000 });
  await closing.probe(fixture('clip.mkv'), await sniffMediaFormat(fixture('clip.mkv')));
  await closing.close();
  await assert.rejects(closing.probe(fixture('clip.mkv'), await sniffMediaFormat(fixture('clip.mkv'))));
});

describe('classifyMarkup', () => {
  const cases: [string, string | Buffer, 'svg' | 'html' | null][] = [
    ['bare svg', '<svg xmlns="http://www.w3.org/2000/svg"/>', 'svg'],
    ['BOM, prolog, comment', '\uFEFF<?xml version="1.0"?>\n<!-- x > y -->\n  <svg>', 'svg'],
    ['doctype with subset', '<!DOCTYPE svg [ <!ENTITY a "b>"> ]>\n<svg>', 'svg'],
    ['namespaced root', '<svg:svg xmlns:svg="http://www.w3.org/2000/svg">', 'svg'],
    ['UTF-16LE', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<svg>', 'utf16le')]), 'svg'],
    ['html doctype', '<!doctype html><title>x</title>', 'html'],
    ['html root', '<html lang="en">', 'html'],
    ['other xml', '<?xml version="1.0"?><feed/>', null],
    ['svg-like name', '<svgfoo>', null],
    ['unterminated comment', '<!-- never closed <svg>', null],
    ['plain text', 'hello', null],
  ];
  for (const [label, input, want] of cases) {
    test(label, () => assert.equal(classifyMarkup(Buffer.isBuffer(input) ? input : Buffer.from(input)), want));
  }
});

test('normaliseRotation snaps mediainfo strings to 0/90/180/270', () => {
  const table: [string | undefined, number][] = [
    [undefined, 0], ['0.000', 0], ['90.000', 90], ['180.000', 180], ['270.000', 270],
    ['-90.000', 270], ['360.000', 0], ['89.9', 90], ['nonsense', 0],
  ];
  for (const [input, want] of table) assert.equal(normaliseRotation(input), want, String(input));
});

test('naturalSize stretches the side the pixel shape widens, as browsers do, and never shrinks one', () => {
  const table: [number, number, number | undefined, [number, number]][] = [
    [160, 120, undefined, [160, 120]], [160, 120, 1, [160, 120]], [160, 120, 1.005, [160, 120]],
    [160, 120, 4 / 3, [213, 120]], [1440, 1080, 4 / 3, [1920, 1080]], [720, 480, 32 / 27, [853, 480]],
    [160, 120, 3 / 4, [160, 160]], [720, 480, 10 / 11, [720, 528]], [160, 120, 0, [160, 120]],
  ];
  for (const [w, h, par, want] of table) {
    const { width, height } = naturalSize(w, h, par);
    assert.deepEqual([width, height], want, `${w}x${h} par ${par}`);
  }
});
