import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AmsError } from '../../src/errors.js';
import { canonicalQuery, parseVariantQuery, posterTimeMs, type VariantRules } from '../../src/media/variant-spec.js';

const rules: VariantRules = { presets: { thumb: 'width=240&height=240&fit=cover' }, maxDimension: 4096 };
const q = (s: string) => Object.fromEntries(new URLSearchParams(s));
const poster = (s: string) => parseVariantQuery(q(s), rules, true, true);

// [what, duration ms, asked seconds, poster time ms]
const times: Array<[string, number | null, number | null, number]> = [
  ['a 1 s clip shows its first frame', 1000, null, 0],
  ['under 2 s: the first frame', 1999, null, 0],
  ['2 s or more: a tenth in, past fade-ins', 2000, null, 200],
  ['a minute: 6 s in', 60_000, null, 6000],
  ['unknown duration: the first frame', null, null, 0],
  ['an asked time is kept', 60_000, 12.5, 12_500],
  ['an asked time is clamped to the duration', 1000, 3600, 1000],
  ['an asked time with no known duration is kept', null, 7, 7000],
  ['time=0 is the first frame', 60_000, 0, 0],
];
for (const [what, duration, asked, ms] of times) {
  test(`poster time: ${what}`, () => assert.equal(posterTimeMs(duration, asked), ms));
}

test('poster query: time comes first in the canonical form, with at most ms precision', () => {
  assert.equal(canonicalQuery(poster('width=100&time=1.5'), 'jpeg'), 'time=1.5&width=100');
  assert.equal(canonicalQuery(poster('time=2.000'), 'jpeg'), 'time=2');
  assert.equal(canonicalQuery(poster('preset=thumb'), 'webp'), 'width=240&height=240');
  assert.equal(poster('').time, null);
});

test('poster query: a bad time is refused, and images take no time at all', () => {
  for (const bad of ['-1', '1.2345', 'soon', '86401', '1e3']) {
    assert.throws(() => poster(`time=${bad}`), (e: unknown) => e instanceof AmsError && e.code === 'INVALID_PARAMETER', bad);
  }
  assert.throws(() => parseVariantQuery(q('time=1'), rules), /only the parameters width, height/);
});
