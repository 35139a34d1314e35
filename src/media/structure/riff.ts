/**
 * RIFF, shared by WebP and AVI: 'RIFF', a little-endian 32-bit size counting everything after
 * it, a form type, then chunks of fourcc(4) size(4) data, each padded to an even length. The
 * chunks must tile the body exactly as the RIFF size declares; a size that overruns the file
 * is truncation, and one that overruns its parent is corruption.
 */
import { read, skip, type Position, type Walk } from './walk.js';

/** Reads a RIFF header of the given form type: the body size after the form type, or a reason. */
export function* readRiffHeader(label: string, form: string): Walk<number | string> {
  const header = yield* read(12);
  if (header.length < 12) return `${label} ends inside its RIFF header`;
  if (header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== form) {
    return `${label} RIFF header is damaged`;
  }
  const size = header.readUInt32LE(4);
  return size < 4 ? `${label} RIFF size is invalid` : size - 4;
}

const isFourcc = (head: Buffer): boolean => head.subarray(0, 4).every((c) => c >= 0x20 && c <= 0x7e);

/**
 * Walks the chunks of a RIFF body of `bodySize` bytes. `check` sees each chunk's fourcc and
 * index and may refuse it. Returns the number of chunks, or the reason the body is unsound.
 */
export function* walkRiffBody(
  label: string,
  bodySize: number,
  at: Position,
  check: (fourcc: string, index: number) => string | null,
): Walk<number | string> {
  const end = at.offset + bodySize;
  let index = 0;
  for (; end - at.offset >= 8; index++) {
    const head = yield* read(8);
    if (head.length === 0) return `${label} RIFF container runs past the end of the file`;
    if (head.length < 8) return `${label} ends inside a chunk header`;
    if (!isFourcc(head)) return `${label} has a damaged chunk header at byte ${at.offset - 8}`;
    const fourcc = head.toString('latin1', 0, 4);
    const refusal = check(fourcc, index);
    if (refusal !== null) return refusal;
    const size = head.readUInt32LE(4);
    const room = end - at.offset;
    if (size > room) return `${label} chunk '${fourcc}' runs past the end of its RIFF container`;
    // The pad byte of an odd-sized last chunk is sometimes left out of the RIFF size.
    const padded = Math.min(size + (size & 1), room);
    if (!(yield* skip(padded))) return `${label} chunk '${fourcc}' runs past the end of the file`;
  }
  // Fewer than 8 bytes left cannot hold a chunk; writers leave such slack as padding.
  if (!(yield* skip(end - at.offset))) return `${label} RIFF container runs past the end of the file`;
  return index;
}
