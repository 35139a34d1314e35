/**
 * PNG: an 8-byte signature, then chunks of length(4) type(4) data CRC(4) where the CRC-32
 * covers type and data. IHDR must come first with 13 bytes of data, at least one IDAT must
 * appear, and IEND ends the image. Bytes after IEND are accepted: decoders ignore them and
 * some cameras and editors append data there.
 */
import { crc32 } from 'node:zlib';
import { crcOver, read, type FormatRule, type FormatWalk } from './walk.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** The spec caps chunk lengths at 2^31 − 1 so they fit a signed 32-bit integer. */
const MAX_CHUNK_LENGTH = 0x7fffffff;

/** Chunk types are four ASCII letters; anything else means the walk lost its footing. */
function isChunkType(head: Buffer): boolean {
  for (let i = 4; i < 8; i++) {
    const c = head[i]! | 0x20;
    if (c < 0x61 || c > 0x7a) return false;
  }
  return true;
}

function* walkPng(): FormatWalk {
  const signature = yield* read(SIGNATURE.length);
  if (!signature.equals(SIGNATURE)) return 'PNG signature is damaged or incomplete';
  let first = true;
  let sawImageData = false;
  for (;;) {
    const head = yield* read(8);
    if (head.length === 0) return 'PNG ends before its IEND chunk';
    if (head.length < 8) return 'PNG ends inside a chunk header';
    if (!isChunkType(head)) return 'PNG has a damaged chunk header';
    const length = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    if (length > MAX_CHUNK_LENGTH) return `PNG chunk ${type} has an invalid length`;
    if (first && (type !== 'IHDR' || length !== 13)) return 'PNG does not start with a valid IHDR chunk';
    first = false;
    const crc = yield* crcOver(length, crc32(head.subarray(4, 8)));
    if (crc < 0) return `PNG chunk ${type} runs past the end of the file`;
    const stored = yield* read(4);
    if (stored.length < 4) return `PNG chunk ${type} runs past the end of the file`;
    if (stored.readUInt32BE(0) !== crc) return `PNG chunk ${type} has a bad CRC`;
    if (type === 'IDAT') sawImageData = true;
    if (type === 'IEND') return sawImageData ? null : 'PNG has no IDAT image data';
  }
}

export const pngRule: FormatRule = {
  container: 'png',
  sniff: (head) => head.length >= 4 && head.subarray(0, 4).equals(SIGNATURE.subarray(0, 4)),
  walk: walkPng,
};
