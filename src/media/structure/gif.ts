/**
 * GIF: a 6-byte header, the 7-byte logical screen descriptor and its optional global colour
 * table, then blocks — extensions (0x21) and image descriptors (0x2C, optional local colour
 * table, LZW code size) each followed by data sub-blocks (a length byte, then that many bytes,
 * ended by a zero length) — until the trailer 0x3B. Bytes after the trailer are accepted,
 * as decoders stop reading there.
 */
import { read, scan, skip, type FormatRule, type FormatWalk, type Scanner } from './walk.js';

const EXTENSION = 0x21;
const IMAGE = 0x2c;
const TRAILER = 0x3b;
/** An animation has two or three blocks per frame; this bounds hostile files, not real ones. */
const MAX_BLOCKS = 1_000_000;

/** A colour table flag in bit 7 of `packed`; its size is 3 × 2^(N+1) bytes for N in bits 0–2. */
const colourTableBytes = (packed: number): number => ((packed & 0x80) === 0 ? 0 : 3 << ((packed & 0x07) + 1));

/** Hops over a chain of data sub-blocks and stops just after its zero-length terminator. */
function subBlocks(): Scanner {
  let left = 0;
  return (buf, from) => {
    let i = from;
    while (i < buf.length) {
      if (left > 0) {
        const step = Math.min(left, buf.length - i);
        i += step;
        left -= step;
      } else {
        const size = buf[i++]!;
        if (size === 0) return i;
        left = size;
      }
    }
    return -1;
  };
}

function* walkGif(): FormatWalk {
  const header = yield* read(13);
  if (header.length < 13) return 'GIF ends inside its header';
  const version = header.toString('latin1', 0, 6);
  if (version !== 'GIF87a' && version !== 'GIF89a') return 'GIF header is damaged';
  if (!(yield* skip(colourTableBytes(header[10]!)))) return 'GIF ends inside its global colour table';
  let sawImage = false;
  for (let blocks = 0; blocks < MAX_BLOCKS; blocks++) {
    const introducer = yield* read(1);
    if (introducer.length === 0) return 'GIF ends before its trailer';
    const kind = introducer[0]!;
    if (kind === TRAILER) return sawImage ? null : 'GIF has no image';
    if (kind === EXTENSION) {
      if ((yield* read(1)).length === 0) return 'GIF ends inside an extension block';
      if (!(yield* scan(subBlocks()))) return 'GIF ends inside an extension block';
    } else if (kind === IMAGE) {
      const descriptor = yield* read(9);
      if (descriptor.length < 9) return 'GIF ends inside an image descriptor';
      if (!(yield* skip(colourTableBytes(descriptor[8]!)))) return 'GIF ends inside a local colour table';
      const codeSize = yield* read(1);
      if (codeSize.length === 0) return 'GIF ends inside an image';
      // The spec allows 2–8; old bilevel encoders write 1, and from 12 up codes would overflow 12 bits.
      if (codeSize[0]! < 1 || codeSize[0]! > 11) return 'GIF image has an invalid LZW code size';
      if (!(yield* scan(subBlocks()))) return 'GIF ends inside an image';
      sawImage = true;
    } else {
      return `GIF has an unknown block type 0x${kind.toString(16)}`;
    }
  }
  return 'GIF has too many blocks';
}

export const gifRule: FormatRule = {
  container: 'gif',
  sniff: (head) => head.length >= 4 && head.toString('latin1', 0, 4) === 'GIF8',
  walk: walkGif,
};
