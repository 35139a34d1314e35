/**
 * BMP: a 14-byte file header ('BM', file size, reserved, pixel data offset) and a DIB header
 * whose first 4 bytes give its own size. The pixel data must start after the headers and fit
 * in the file; for uncompressed bitmaps its length follows from width, height and bit depth
 * (rows padded to 4 bytes), for compressed ones from the image size field when set. The file
 * size field must cover the pixel data offset and not exceed the real size; bytes beyond it
 * are accepted, as nothing points at them.
 */
import { read, skip, type FormatRule, type FormatWalk, type Position } from './walk.js';

const FILE_HEADER = 14;
/** OS/2 1.x core, OS/2 2.x (16 and 64), BITMAPINFOHEADER and its V2–V5 successors. */
const DIB_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);
const BIT_DEPTHS = new Set([1, 2, 4, 8, 16, 24, 32, 64]);
/** BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS: rows of raw pixels whose size is known. */
const UNCOMPRESSED = new Set([0, 3, 6]);

interface Bitmap {
  width: number;
  height: number;
  bitDepth: number;
  compression: number;
  imageSize: number;
}

/** `dib` is the DIB header after its 4-byte size field. */
function parseDib(dib: Buffer): Bitmap {
  if (dib.length === 8) {
    return { width: dib.readUInt16LE(0), height: dib.readUInt16LE(2), bitDepth: dib.readUInt16LE(6), compression: 0, imageSize: 0 };
  }
  // The 16-byte OS/2 2.x header stops before the compression field: uncompressed.
  const long = dib.length >= 20;
  return {
    width: dib.readInt32LE(0),
    height: Math.abs(dib.readInt32LE(4)), // negative height: rows stored top-down
    bitDepth: dib.readUInt16LE(10),
    compression: long ? dib.readUInt32LE(12) : 0,
    imageSize: long ? dib.readUInt32LE(16) : 0,
  };
}

function pixelBytes(bmp: Bitmap): number {
  if (!UNCOMPRESSED.has(bmp.compression)) return bmp.imageSize;
  const stride = Math.floor((bmp.width * bmp.bitDepth + 31) / 32) * 4;
  return stride * bmp.height;
}

function* walkBmp(at: Position): FormatWalk {
  const header = yield* read(FILE_HEADER + 4);
  if (header.length < FILE_HEADER + 4) return 'BMP ends inside its header';
  const declaredSize = header.readUInt32LE(2);
  const dataOffset = header.readUInt32LE(10);
  const dibSize = header.readUInt32LE(14);
  if (!DIB_SIZES.has(dibSize)) return 'BMP has an unknown header size';
  const rest = yield* read(dibSize - 4);
  if (rest.length < dibSize - 4) return 'BMP ends inside its header';
  const bmp = parseDib(rest);
  if (bmp.width <= 0 || bmp.height === 0) return 'BMP has invalid dimensions';
  if (!BIT_DEPTHS.has(bmp.bitDepth)) return 'BMP has an invalid bit depth';
  if (dataOffset < FILE_HEADER + dibSize) return 'BMP pixel data offset points inside its header';
  if (declaredSize < dataOffset) return 'BMP file size field is smaller than its pixel data offset';
  // At least one byte: an offset at the very end of the file would point at no pixels at all.
  const dataEnd = dataOffset + Math.max(pixelBytes(bmp), 1);
  if (!(yield* skip(dataEnd - at.offset))) return 'BMP pixel data runs past the end of the file';
  if (!(yield* skip(declaredSize - at.offset))) return 'BMP file size field is larger than the file';
  return null;
}

export const bmpRule: FormatRule = {
  container: 'bmp',
  sniff: (head) => head.length >= 2 && head[0] === 0x42 && head[1] === 0x4d,
  walk: walkBmp,
};
