/**
 * WebP: a RIFF 'WEBP' form whose first chunk is the image — 'VP8 ' (lossy), 'VP8L'
 * (lossless) or 'VP8X' (extended, followed by the image and metadata chunks). The RIFF size
 * must account for the whole file: one stray pad byte after it is tolerated, more is refused
 * (libwebp would ignore trailing bytes, but encoders never write them; they point at damage).
 */
import { readRiffHeader, walkRiffBody } from './riff.js';
import { read, type FormatRule, type FormatWalk, type Position } from './walk.js';

const IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X']);

function* walkWebp(at: Position): FormatWalk {
  const bodySize = yield* readRiffHeader('WebP', 'WEBP');
  if (typeof bodySize === 'string') return bodySize;
  const chunks = yield* walkRiffBody('WebP', bodySize, at, (fourcc, index) =>
    index === 0 && !IMAGE_CHUNKS.has(fourcc) ? 'WebP does not start with a VP8, VP8L or VP8X chunk' : null,
  );
  if (typeof chunks === 'string') return chunks;
  if (chunks === 0) return 'WebP has no image chunk';
  const after = yield* read(2);
  return after.length > 1 ? 'WebP has data after the end of its RIFF container' : null;
}

export const webpRule: FormatRule = {
  container: 'webp',
  sniff: (head) => head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP',
  walk: walkWebp,
};
