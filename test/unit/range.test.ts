import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange, type RangeResult } from '../../src/delivery/range.js';

const none: RangeResult = { kind: 'none' };
const unsatisfiable: RangeResult = { kind: 'unsatisfiable' };
const range = (start: number, end: number): RangeResult => ({ kind: 'range', range: { start, end } });

// [what, header, size, expected]
const cases: Array<[string, string | undefined, number, RangeResult]> = [
  ['no header', undefined, 1000, none],
  ['first byte', 'bytes=0-0', 1000, range(0, 0)],
  ['last byte', 'bytes=999-999', 1000, range(999, 999)],
  ['middle', 'bytes=100-199', 1000, range(100, 199)],
  ['open-ended from 0', 'bytes=0-', 1000, range(0, 999)],
  ['open-ended from the middle', 'bytes=500-', 1000, range(500, 999)],
  ['suffix', 'bytes=-500', 1000, range(500, 999)],
  ['suffix of one byte', 'bytes=-1', 1000, range(999, 999)],
  ['suffix longer than the file is the whole file', 'bytes=-5000', 1000, range(0, 999)],
  ['suffix exactly the file', 'bytes=-1000', 1000, range(0, 999)],
  // RFC 9110 §14.1.1: last-pos < first-pos makes the range-spec invalid, so the header is ignored.
  ['end before start is ignored', 'bytes=500-499', 1000, none],
  ['start = size', 'bytes=1000-', 1000, unsatisfiable],
  ['start = size with an end', 'bytes=1000-1001', 1000, unsatisfiable],
  ['start past size', 'bytes=5000-6000', 1000, unsatisfiable],
  ['zero-length suffix', 'bytes=-0', 1000, unsatisfiable],
  ['end past size is clamped', 'bytes=900-5000', 1000, range(900, 999)],
  ['end exactly size is clamped', 'bytes=0-1000', 1000, range(0, 999)],
  // A multi-range request gets the whole file rather than multipart/byteranges.
  ['two ranges', 'bytes=0-1,5-6', 1000, none],
  ['two ranges with spaces', 'bytes=0-1, 5-6', 1000, none],
  ['trailing comma', 'bytes=0-1,', 1000, none],
  ['other unit', 'items=0-1', 1000, none],
  ['letters', 'bytes=a-b', 1000, none],
  ['no spec', 'bytes=', 1000, none],
  ['only a dash', 'bytes=-', 1000, none],
  ['no equals sign', 'bytes 0-1', 1000, none],
  ['negative start', 'bytes=--1', 1000, none],
  ['fraction', 'bytes=0.5-1', 1000, none],
  ['empty string', '', 1000, none],
  ['upper-case unit', 'BYTES=0-9', 1000, range(0, 9)],
  ['mixed-case unit', 'Bytes=0-9', 1000, range(0, 9)],
  ['spaces around everything', '  bytes = 10 - 19  ', 1000, range(10, 19)],
  ['tab before the spec', 'bytes=\t-10', 1000, range(990, 999)],
  ['leading zeros', 'bytes=007-010', 1000, range(7, 10)],
  ['huge end is clamped', 'bytes=0-99999999999999999999999', 1000, range(0, 999)],
  ['huge start is unsatisfiable', 'bytes=99999999999999999999999-', 1000, unsatisfiable],
  ['huge start with a huge end', 'bytes=99999999999999999999-99999999999999999999', 1000, unsatisfiable],
  ['huge suffix is the whole file', 'bytes=-99999999999999999999999', 1000, range(0, 999)],
  ['file larger than 4 GiB', 'bytes=5000000000-', 6_000_000_000, range(5_000_000_000, 5_999_999_999)],
  ['one-byte file, whole', 'bytes=0-', 1, range(0, 0)],
  ['one-byte file, suffix', 'bytes=-10', 1, range(0, 0)],
  ['empty file, from 0', 'bytes=0-', 0, unsatisfiable],
  // Nothing can be cut from an empty file; the whole (empty) file is the only sensible answer.
  ['empty file, suffix', 'bytes=-10', 0, none],
];

for (const [what, header, size, expected] of cases) {
  test(`parseRange: ${what} (${JSON.stringify(header)}, size ${size})`, () => {
    assert.deepEqual(parseRange(header, size), expected);
  });
}

test('parseRange: every satisfiable range lies inside the file', () => {
  for (const [, header, size] of cases) {
    const r = parseRange(header, size);
    if (r.kind !== 'range') continue;
    assert.ok(r.range.start >= 0 && r.range.start <= r.range.end && r.range.end < size, `${header} → ${JSON.stringify(r)}`);
  }
});
