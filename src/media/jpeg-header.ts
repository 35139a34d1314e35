/**
 * A JPEG's size and EXIF orientation, read in JS from the head the receive pass keeps. sharp's
 * metadata() does the same through the thread pool (libjpeg's header read plus libexif): 7.6 % of
 * the upload benchmark's CPU with the server on one core, for a photo's 4 numbers.
 *
 * Only the common case is answered: baseline/extended/progressive Huffman frames of 8-bit samples,
 * at most one EXIF segment, every segment up to SOS well-formed, including the quantisation and
 * Huffman tables libjpeg checks while reading a header. Anything else returns null and sharp
 * decides, so what sharp refuses stays refused.
 */
export interface JpegHeader {
  width: number;
  height: number;
  /** EXIF orientation 1–8 (1 when there is none). */
  orientation: number;
}

const SOF_HUFFMAN = new Set([0xc0, 0xc1, 0xc2]);
const isFrame = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
const EXIF = Buffer.from('Exif\0\0', 'latin1');

export function readJpegHeader(buf: Buffer): JpegHeader | null {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  let frame: { width: number; height: number } | null = null;
  let orientation: number | null | undefined = null;
  let exifSegments = 0;
  for (let at = 2; at + 4 <= buf.length; ) {
    if (buf[at] !== 0xff) return null;
    const marker = buf[at + 1] ?? 0;
    if (marker === 0xff) {
      at++; // a fill byte
      continue;
    }
    if (marker === 0xda) return frame && orientation !== undefined ? { ...frame, orientation: orientation ?? 1 } : null;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) return null; // no standalone marker belongs in a header
    const length = buf.readUInt16BE(at + 2);
    if (length < 2 || at + 2 + length > buf.length) return null;
    const body = buf.subarray(at + 4, at + 2 + length);
    if (isFrame(marker)) {
      if (frame !== null || !SOF_HUFFMAN.has(marker)) return null;
      frame = readFrame(body);
      if (frame === null) return null;
    } else if (marker === 0xdb && !tablesFit(body, (b, i) => ((b[i] ?? 0) >> 4 === 0 ? 65 : 129))) return null;
    else if (marker === 0xc4 && !tablesFit(body, huffmanTableLength)) return null;
    else if (marker === 0xe1 && body.subarray(0, 6).equals(EXIF)) {
      if (++exifSegments > 1) return null; // which one a reader honours is not ours to guess
      orientation = exifOrientation(body.subarray(6));
    }
    at += 2 + length;
  }
  return null; // the header does not end within these bytes
}

/** SOF: precision, height, width, components (1, 3 or 4, three bytes each). */
function readFrame(body: Buffer): { width: number; height: number } | null {
  if (body.length < 6 || body[0] !== 8) return null;
  const components = body[5] ?? 0;
  if (![1, 3, 4].includes(components) || body.length !== 6 + 3 * components) return null;
  const height = body.readUInt16BE(1);
  const width = body.readUInt16BE(3);
  return width > 0 && height > 0 ? { width, height } : null;
}

/** DQT and DHT segments hold whole tables back to back; libjpeg refuses any other length. */
function tablesFit(body: Buffer, tableLength: (b: Buffer, at: number) => number): boolean {
  if (body.length === 0) return false;
  let at = 0;
  while (at < body.length) at += tableLength(body, at);
  return at === body.length;
}

/** Class/id byte, 16 code counts, then as many symbols (at most 256). */
function huffmanTableLength(b: Buffer, at: number): number {
  if (at + 17 > b.length) return Infinity;
  let symbols = 0;
  for (let i = 1; i <= 16; i++) symbols += b[at + i] ?? 0;
  return symbols > 256 ? Infinity : 17 + symbols;
}

/** The Orientation tag (0x0112, one SHORT) of IFD0: null when absent, undefined when unreadable. */
function exifOrientation(tiff: Buffer): number | null | undefined {
  if (tiff.length < 8) return undefined;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const le = order === 'II';
  const u16 = (o: number) => (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o));
  const u32 = (o: number) => (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd < 8 || ifd + 2 > tiff.length) return undefined;
  const entries = u16(ifd);
  if (ifd + 2 + entries * 12 > tiff.length) return undefined;
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(entry) !== 0x0112) continue;
    if (u16(entry + 2) !== 3 || u32(entry + 4) !== 1) return undefined;
    const value = u16(entry + 8);
    return value >= 1 && value <= 8 ? value : undefined;
  }
  return null;
}
