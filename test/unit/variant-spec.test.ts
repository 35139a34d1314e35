import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AmsError } from '../../src/errors.js';
import { matchesPreset, signPath, verifySignature, withSignature } from '../../src/derivatives/signing.js';
import { dominantColor } from '../../src/media/placeholder.js';
import {
  canonicalQuery,
  defaultFormat,
  editDistance,
  fitToSource,
  formatOfExt,
  negotiateFormat,
  parseVariantQuery,
  type OutputFormat,
  type VariantRules,
} from '../../src/media/variant-spec.js';

const rules: VariantRules = {
  presets: { thumb: 'width=240&height=240&fit=cover', card: 'width=600&quality=70', zoom: 'height=2000&fit=inside' },
  maxDimension: 4096,
};
const q = (s: string) => Object.fromEntries(new URLSearchParams(s));
const canonical = (s: string, format: OutputFormat | null = 'webp') => {
  const r = parseVariantQuery(q(s), rules);
  return canonicalQuery(r, format ?? (r.format === 'auto' || r.format === null ? 'webp' : r.format));
};

// [what, query, canonical query in WebP]
const canon: Array<[string, string, string]> = [
  ['nothing', '', ''],
  ['width only', 'width=240', 'width=240'],
  ['order does not matter', 'height=100&width=200', 'width=200&height=100'],
  ['default fit (cover) left out', 'width=200&height=100&fit=cover', 'width=200&height=100'],
  ['fit kept when both sides are given', 'width=200&height=100&fit=contain', 'width=200&height=100&fit=contain'],
  ['fit dropped with one side', 'width=200&fit=fill', 'width=200'],
  ['every fit', 'width=2&height=2&fit=outside', 'width=2&height=2&fit=outside'],
  ['default quality left out', 'width=10&quality=80', 'width=10'],
  ['other quality kept', 'width=10&quality=55', 'width=10&quality=55'],
  ['dpr folded into width and height', 'width=100&height=50&dpr=2', 'width=200&height=100'],
  ['fractional dpr rounds', 'width=101&dpr=1.5', 'width=152'],
  ['dpr alone changes nothing', 'dpr=3', ''],
  ['preset expanded', 'preset=thumb', 'width=240&height=240'],
  ['preset at dpr 2', 'preset=thumb&dpr=2', 'width=480&height=480'],
  ['explicit parameter overrides the preset', 'preset=thumb&fit=contain', 'width=240&height=240&fit=contain'],
  ['preset quality kept', 'preset=card', 'width=600&quality=70'],
  ['enlarge=true kept', 'width=9&enlarge=true', 'width=9&enlarge=true'],
  ['enlarge=1 is enlarge=true', 'width=9&enlarge=1', 'width=9&enlarge=true'],
  ['enlarge without a size dropped', 'enlarge=true', ''],
  ['sig is not part of the canonical query', 'width=9&sig=abc', 'width=9'],
  ['format is not part of the canonical query', 'width=9&format=avif', 'width=9'],
];
for (const [what, query, expected] of canon) {
  test(`canonical: ${what}`, () => assert.equal(canonical(query), expected));
}

test('canonical: quality is dropped for PNG and GIF, default differs per format', () => {
  assert.equal(canonical('width=10&quality=55', 'png'), 'width=10');
  assert.equal(canonical('width=10&quality=50', 'avif'), 'width=10');
  assert.equal(canonical('width=10&quality=50', 'jpeg'), 'width=10&quality=50');
});

// [what, query, the text the message must contain]
const bad: Array<[string, string, string]> = [
  ['width 0', 'width=0', 'from 1 to 4096'],
  ['width too large', 'width=5000', 'from 1 to 4096'],
  ['width not a number', 'width=abc', 'whole number'],
  ['negative height', 'height=-5', 'from 1 to 4096'],
  ['fractional width', 'width=10.5', 'whole number'],
  ['huge size after dpr', 'width=3000&dpr=2', 'at most 4096 pixels after dpr'],
  ['dpr above 4', 'dpr=5', 'from 1 to 4'],
  ['dpr below 1', 'dpr=0.5', 'from 1 to 4'],
  ['quality 0', 'quality=0', 'from 1 to 100'],
  ['quality 101', 'quality=101', 'from 1 to 100'],
  ['unknown fit', 'fit=crop', 'cover, contain, inside, outside, fill'],
  ['unknown format', 'format=gif', 'jpeg, png, webp, avif, auto'],
  ['unknown preset', 'preset=huge', 'thumb, card, zoom'],
  ["another service's name for width", 'w=10', 'width instead'],
  ["another service's name for quality", 'q=50', 'quality instead'],
  ['size is not ours', 'size=10', 'width and height instead'],
  ['a typo of width', 'widht=10', 'width instead'],
  ['width capitalised', 'Width=10', 'width instead'],
  ['a typo of height', 'heigth=10', 'height instead'],
  ['a typo of quality', 'qualty=50', 'quality instead'],
  ['a swap in fit', 'fti=cover', 'fit instead'],
  ['a poster parameter on an image', 'time=1', 'only the parameters width, height'],
  ['bad enlarge', 'enlarge=yes', 'true, false'],
];
for (const [what, query, text] of bad) {
  test(`refused: ${what}`, () => {
    assert.throws(
      () => parseVariantQuery(q(query), rules),
      (err: unknown) => err instanceof AmsError && err.status === 400 && err.code === 'INVALID_PARAMETER' && err.message.includes(text),
    );
  });
}

test('cache-busters and trackers are ignored: the same request, the same canonical URL', () => {
  for (const extra of ['v=3', 'utm_source=news&utm_medium=mail', 'fbclid=IwAR0abc', 'cb=1699999999', '_=123', 'ver=2', 'rev=7', 't=5', 'ts=1']) {
    assert.equal(canonical(`width=240&${extra}`), 'width=240', extra);
    assert.equal(canonical(extra), '', extra);
  }
});

test('fitToSource: a single side past the source is the source size, unless enlarge', () => {
  const g = (s: string) => parseVariantQuery(q(s), rules);
  const size = (s: string) => {
    const r = fitToSource(g(s), 640, 480);
    return [r.width, r.height];
  };
  assert.deepEqual(size('width=1000'), [640, null]);
  assert.deepEqual(size('width=640'), [640, null]);
  assert.deepEqual(size('width=320'), [320, null]);
  assert.deepEqual(size('height=2000'), [null, 480]);
  assert.deepEqual(size('width=500&dpr=2'), [640, null], 'after dpr');
  assert.deepEqual(size('width=1000&enlarge=true'), [1000, null]);
  assert.deepEqual(size('width=1000&height=1000'), [1000, 1000], 'both sides: the fit decides');
  assert.equal(canonicalQuery(fitToSource(g('width=1000'), 640, 480), 'webp'), canonicalQuery(g('width=640'), 'webp'));
});

test('editDistance counts a swap of neighbours as one edit', () => {
  for (const [a, b, d] of [
    ['width', 'width', 0],
    ['widht', 'width', 1],
    ['wdith', 'width', 1],
    ['with', 'width', 1],
    ['ver', 'dpr', 2],
    ['v', 'fit', 3],
    ['', 'fit', 3],
  ] as const) {
    assert.equal(editDistance(a, b), d, `${a} → ${b}`);
  }
});

test('refused: a parameter given twice', () => {
  assert.throws(() => parseVariantQuery({ width: ['1', '2'] }, rules), /the parameter once/);
});

// [Accept, source MIME, expected order]
const negotiation: Array<[string | undefined, string, OutputFormat[]]> = [
  ['image/avif,image/webp,image/apng,*/*;q=0.8', 'image/jpeg', ['avif', 'webp', 'jpeg']],
  ['image/webp,*/*', 'image/jpeg', ['webp', 'jpeg']],
  ['*/*', 'image/png', ['png']],
  [undefined, 'image/jpeg', ['jpeg']],
  ['image/avif;q=0, image/webp', 'image/jpeg', ['webp', 'jpeg']],
  ['IMAGE/AVIF', 'image/gif', ['avif', 'gif']],
  ['image/webp', 'image/tiff', ['webp', 'jpeg']],
];
for (const [accept, mime, expected] of negotiation) {
  test(`format=auto with Accept ${accept} for ${mime}`, () => assert.deepEqual(negotiateFormat(accept, mime), expected));
}

test('formats from extensions and sources', () => {
  assert.equal(formatOfExt('jpg'), 'jpeg');
  assert.equal(formatOfExt('JPEG'), 'jpeg');
  assert.equal(formatOfExt('webp'), 'webp');
  assert.equal(formatOfExt('tif'), null);
  assert.equal(defaultFormat('image/gif'), 'gif');
  assert.equal(defaultFormat('image/tiff'), 'jpeg');
});

test('signatures: the first key signs, every key verifies, anything else is refused', () => {
  const [k1, k2, old] = ['k'.repeat(16), 'j'.repeat(16), 'o'.repeat(16)];
  const url = withSignature([k1, k2], '/images/x.webp', 'width=10');
  const sig = new URL(url, 'http://h').searchParams.get('sig');
  assert.equal(sig, signPath(k1, '/images/x.webp?width=10'));
  verifySignature([k2, k1], '/images/x.webp', 'width=10', sig);
  assert.throws(() => verifySignature([k1], '/images/x.webp', 'width=11', sig), /does not match/);
  assert.throws(() => verifySignature([k1], '/images/x.webp', 'width=10', signPath(old, '/images/x.webp?width=10')), /does not match/);
  assert.throws(() => verifySignature([k1], '/images/x.webp', 'width=10', null), /no signature/);
  verifySignature([], '/images/x.webp', 'width=10', null); // signing off: anything goes
});

test('presets-only: a preset at dpr 1–4 passes, any other size does not', () => {
  const g = (s: string) => parseVariantQuery(q(s), rules);
  assert.ok(matchesPreset(g('preset=thumb'), rules));
  assert.ok(matchesPreset(g('preset=thumb&dpr=2'), rules));
  assert.ok(matchesPreset(g('width=240&height=240'), rules), 'the canonical URL of a preset');
  assert.ok(matchesPreset(g(''), rules), 'a plain format conversion');
  assert.ok(!matchesPreset(g('width=241&height=240'), rules));
  assert.ok(!matchesPreset(g('width=240&height=240&fit=fill'), rules));
  assert.ok(!matchesPreset(g('width=600'), rules), 'card has its own quality');
  assert.ok(matchesPreset(g('preset=card'), rules));
});

test('dominant colour: the most common 16-level bin wins, transparent pixels do not count', () => {
  const px = (r: number, g: number, b: number, a = 255) => [r, g, b, a];
  const image = (pixels: number[][]) => Uint8Array.from(pixels.flat());
  assert.equal(dominantColor(image([px(200, 20, 10), px(202, 24, 12), px(0, 0, 255)])), '#c9160b');
  assert.equal(dominantColor(image([px(0, 0, 0, 0), px(0, 0, 0, 0), px(10, 250, 10)])), '#0afa0a');
  assert.equal(dominantColor(image([px(255, 255, 255)])), '#ffffff');
});
