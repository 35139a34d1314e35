/**
 * TIFF: a byte-order mark ('II' little, 'MM' big), 42 (classic) or 43 (BigTIFF, 64-bit
 * offsets), and the offset of the first image file directory (IFD). Each IFD is a count, that
 * many 12-byte (BigTIFF: 20-byte) entries and the offset of the next IFD, 0 ending the chain.
 * The structure lives in offsets, so it is checked in a second pass over the finished file:
 * every IFD and every strip or tile must lie inside it, and the chain must not loop.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { read, type FormatRule, type FormatWalk } from './walk.js';

/** Multi-page scans reach hundreds of pages; real IFDs hold a few dozen tags. */
const MAX_IFDS = 4096;
const MAX_ENTRIES = 4096;
/** Strip or tile offsets read per file in all: bounds the work a hostile file can cause. */
const MAX_LOCATIONS = 4_000_000;
/** Strip and tile arrays are read this many entries at a time, never whole. */
const BATCH = 8192;

const STRIP_OFFSETS = 273;
const STRIP_BYTE_COUNTS = 279;
const TILE_OFFSETS = 324;
const TILE_BYTE_COUNTS = 325;
/** Bytes per value of each field type (BigTIFF adds 16–18); unknown types are ignored, as libtiff does. */
const TYPE_SIZES: Record<number, number> = {
  1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8,
};
/** SHORT, LONG and (BigTIFF) LONG8: the integer types strip and tile arrays may use. */
const LOCATION_TYPES = new Set([3, 4, 16]);

interface Entry {
  type: number;
  count: number;
  /** File position of the values: the entry's own value field when they fit there, else the offset it holds. */
  at: number;
}

class TiffFile {
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly le: boolean,
    readonly big: boolean,
  ) {}

  async bytes(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  }

  uint(buf: Buffer, at: number, size: number): number {
    if (size === 2) return this.le ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
    if (size === 4) return this.le ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    return Number(this.le ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at));
  }
}

export async function checkTiff(file: { path: string; size: number }): Promise<string | null> {
  const fh = await open(file.path, 'r');
  try {
    const header = Buffer.alloc(16);
    const { bytesRead } = await fh.read(header, 0, 16, 0);
    const le = header[0] === 0x49;
    const big = (le ? header.readUInt16LE(2) : header.readUInt16BE(2)) === 43;
    if (bytesRead < (big ? 16 : 8)) return 'TIFF ends inside its header';
    const tiff = new TiffFile(fh, file.size, le, big);
    return await walkIfds(tiff, tiff.uint(header, big ? 8 : 4, big ? 8 : 4));
  } finally {
    await fh.close();
  }
}

async function walkIfds(tiff: TiffFile, first: number): Promise<string | null> {
  const [countSize, entrySize, offsetSize] = tiff.big ? [8, 20, 8] : [2, 12, 4];
  const seen = new Set<number>();
  const budget = { locations: MAX_LOCATIONS };
  for (let ifd = first; ifd !== 0; ) {
    if (seen.has(ifd)) return 'TIFF image directories form a loop';
    if (seen.size >= MAX_IFDS) return 'TIFF has too many image directories';
    seen.add(ifd);
    const countBytes = await tiff.bytes(ifd, countSize);
    if (countBytes.length < countSize) return 'TIFF image directory lies past the end of the file';
    const count = tiff.uint(countBytes, 0, countSize);
    if (count === 0 || count > MAX_ENTRIES) return 'TIFF image directory has an invalid number of entries';
    const table = await tiff.bytes(ifd + countSize, count * entrySize + offsetSize);
    if (table.length < count * entrySize + offsetSize) return 'TIFF image directory runs past the end of the file';
    const entries = new Map<number, Entry>();
    for (let i = 0; i < count; i++) {
      const e = i * entrySize;
      const type = tiff.uint(table, e + 2, 2);
      const n = tiff.uint(table, e + 4, offsetSize);
      const bytes = n * (TYPE_SIZES[type] ?? 0);
      const field = e + 4 + offsetSize;
      const at = bytes <= offsetSize ? ifd + countSize + field : tiff.uint(table, field, offsetSize);
      const tag = tiff.uint(table, e, 2);
      if (at + bytes > tiff.size) return `TIFF tag ${tag} points past the end of the file`;
      entries.set(tag, { type, count: n, at });
    }
    const refusal =
      (await checkLocations(tiff, 'strip', entries.get(STRIP_OFFSETS), entries.get(STRIP_BYTE_COUNTS), budget)) ??
      (await checkLocations(tiff, 'tile', entries.get(TILE_OFFSETS), entries.get(TILE_BYTE_COUNTS), budget));
    if (refusal !== null) return refusal;
    ifd = tiff.uint(table, count * entrySize, offsetSize);
  }
  return null;
}

/** Values of `entry` from index `from`, at most BATCH of them. */
async function values(tiff: TiffFile, entry: Entry, from: number): Promise<number[] | null> {
  const size = TYPE_SIZES[entry.type]!;
  const n = Math.min(BATCH, entry.count - from);
  const buf = await tiff.bytes(entry.at + from * size, n * size);
  if (buf.length < n * size) return null;
  return Array.from({ length: n }, (_, i) => tiff.uint(buf, i * size, size));
}

async function checkLocations(
  tiff: TiffFile,
  what: 'strip' | 'tile',
  offsets: Entry | undefined,
  counts: Entry | undefined,
  budget: { locations: number },
): Promise<string | null> {
  if (!offsets) return null;
  if (!counts) return `TIFF ${what} byte counts are missing`;
  if (!LOCATION_TYPES.has(offsets.type) || !LOCATION_TYPES.has(counts.type)) return `TIFF ${what} offsets have an invalid type`;
  if (offsets.count !== counts.count) return `TIFF ${what} offsets and byte counts differ in number`;
  budget.locations -= offsets.count;
  if (budget.locations < 0) return `TIFF has too many ${what}s to check`;
  for (let from = 0; from < offsets.count; from += BATCH) {
    const [starts, lengths] = await Promise.all([values(tiff, offsets, from), values(tiff, counts, from)]);
    if (!starts || !lengths) return `TIFF ${what} table runs past the end of the file`;
    for (let i = 0; i < starts.length; i++) {
      if (starts[i]! + lengths[i]! > tiff.size) return `TIFF ${what} data lies past the end of the file`;
    }
  }
  return null;
}

function* walkHeader(): FormatWalk {
  // Only the byte-order mark is checked while streaming; the directories are read in check().
  const head = yield* read(4);
  return head.length < 4 ? 'TIFF ends inside its header' : null;
}

export const tiffRule: FormatRule = {
  container: 'tiff',
  sniff: (head) =>
    head.length >= 4 &&
    ((head[0] === 0x49 && head[1] === 0x49 && (head[2] === 42 || head[2] === 43) && head[3] === 0) ||
      (head[0] === 0x4d && head[1] === 0x4d && head[2] === 0 && (head[3] === 42 || head[3] === 43))),
  walk: walkHeader,
  check: checkTiff,
};
