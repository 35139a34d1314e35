import type { ByteRange } from '../blob/store.js';

export type RangeResult =
  | { kind: 'none' } // no Range header, or one we may ignore (RFC 9110 §14.2: invalid or multipart)
  | { kind: 'range'; range: ByteRange }
  | { kind: 'unsatisfiable' };

/**
 * Parses a `Range` header against a representation of `size` bytes. Only one range is served:
 * a multi-range request gets the whole file (which RFC 9110 allows), so browsers' single-range
 * seeking works and nobody can make us build multipart/byteranges bodies.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'none' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'none' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    // An empty file has no byte to cut; serve it whole rather than the impossible range 0..-1.
    if (size === 0) return { kind: 'none' };
    return { kind: 'range', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start)) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Number(last);
  if (last !== '' && end < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', range: { start, end: Math.min(end, size - 1) } };
}
