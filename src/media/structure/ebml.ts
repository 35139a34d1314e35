/**
 * EBML (Matroska, WebM): elements of ID, size and data, where the ID is a 1–4 byte and the size
 * a 1–8 byte variable-length integer (the count of leading zero bits gives the length) and a
 * size with all value bits set means "unknown". A file is the EBML header, then a Segment
 * whose level-1 children (SeekHead, Info, Tracks, Clusters, Cues, …) are walked by size: each
 * must fit the Segment, and a Segment of known size must fit the file. An unknown size (live or
 * streamed recordings) has no end to check against, so strict checking stops there. As with
 * MP4, bytes after the last element are refused: sizes must account for the whole file.
 */
import { read, skip, type FormatRule, type FormatWalk, type Position, type Walk } from './walk.js';

const EBML_HEADER = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const DOC_TYPE = 0x4282;
/** The EBML header holds a few short fields; only its start is read to find the DocType. */
const MAX_HEADER_READ = 256;
const NAMES = new Map([
  [0x114d9b74, 'SeekHead'], [0x1549a966, 'Info'], [0x1654ae6b, 'Tracks'], [0x1f43b675, 'Cluster'],
  [0x1c53bb6b, 'Cues'], [0x1043a770, 'Chapters'], [0x1254c367, 'Tags'], [0x1941a469, 'Attachments'],
  [0xec, 'Void'], [SEGMENT, 'Segment'],
]);

interface Element { id: number; size: number | null }

/** Length of a variable-length integer from its first byte; 0 if no marker bit is set. */
const vintLength = (first: number): number => (first === 0 ? 0 : Math.clz32(first) - 23);
const nameOf = (id: number): string => NAMES.get(id) ?? `element 0x${id.toString(16).toUpperCase()}`;

/** The value of a whole vint in `bytes`; an ID keeps its marker bit, a size drops it. */
function vintValue(bytes: Buffer, isId: boolean): number {
  let value = isId ? bytes[0]! : bytes[0]! & (0xff >> bytes.length);
  for (let i = 1; i < bytes.length; i++) value = value * 256 + bytes[i]!;
  return value;
}

function isUnknownSize(bytes: Buffer): boolean {
  const mask = 0xff >> bytes.length;
  return (bytes[0]! & mask) === mask && bytes.subarray(1).every((b) => b === 0xff);
}

/** One vint from the stream, or 'end' (nothing left), 'short' (cut inside it), 'bad' (invalid). */
function* readVint(maxLength: number): Walk<Buffer | 'end' | 'short' | 'bad'> {
  const first = yield* read(1);
  if (first.length === 0) return 'end';
  const lead = first[0]!;
  const length = vintLength(lead);
  if (length === 0 || length > maxLength) return 'bad';
  const rest = yield* read(length - 1);
  if (rest.length < length - 1) return 'short';
  const whole = Buffer.allocUnsafe(length);
  whole[0] = lead;
  rest.copy(whole, 1);
  return whole;
}

function* readElement(): Walk<Element | 'end' | 'short' | 'bad'> {
  const id = yield* readVint(4);
  if (typeof id === 'string') return id;
  const size = yield* readVint(8);
  if (typeof size === 'string') return size === 'end' ? 'short' : size;
  return { id: vintValue(id, true), size: isUnknownSize(size) ? null : vintValue(size, false) };
}

/** The DocType ('webm', 'matroska') from the start of the EBML header's data, if it is there. */
function docTypeOf(data: Buffer): string | null {
  for (let i = 0; i < data.length; ) {
    const idLength = vintLength(data[i]!);
    const sizeAt = i + idLength;
    const sizeLength = sizeAt < data.length ? vintLength(data[sizeAt]!) : 0;
    if (idLength === 0 || sizeLength === 0 || sizeAt + sizeLength > data.length) return null;
    const size = vintValue(data.subarray(sizeAt, sizeAt + sizeLength), false);
    const start = sizeAt + sizeLength;
    if (vintValue(data.subarray(i, sizeAt), true) === DOC_TYPE) return data.toString('latin1', start, start + size);
    i = start + size;
  }
  return null;
}

function* walkEbml(at: Position): FormatWalk {
  const header = yield* readElement();
  if (typeof header === 'string' || header.id !== EBML_HEADER || header.size === null) {
    return header === 'short' ? 'WebM ends inside its EBML header' : 'WebM does not start with a valid EBML header';
  }
  const data = yield* read(Math.min(header.size, MAX_HEADER_READ));
  const label = docTypeOf(data) === 'matroska' ? 'Matroska' : 'WebM';
  if (!(yield* skip(header.size - data.length))) return `${label} EBML header runs past the end of the file`;
  let sawSegment = false;
  // A Segment's children are walked like top-level elements, bounded by the Segment's end.
  let segmentEnd = Infinity;
  for (;;) {
    if (at.offset === segmentEnd) segmentEnd = Infinity;
    const start = at.offset;
    const element = yield* readElement();
    if (element === 'end') {
      if (segmentEnd !== Infinity) return `${label} Segment runs past the end of the file`;
      return sawSegment ? null : `${label} has no Segment`;
    }
    if (element === 'short') return `${label} ends inside an element header`;
    if (element === 'bad') return `${label} has a damaged element header at byte ${start}`;
    const name = nameOf(element.id);
    if (element.id === SEGMENT && !sawSegment) {
      sawSegment = true;
      if (element.size === null) continue; // its children run to the end of the file
      segmentEnd = at.offset + element.size;
      continue;
    }
    if (element.size === null) return null;
    if (at.offset + element.size > segmentEnd) return `${label} ${name} runs past the end of its Segment`;
    if (!(yield* skip(element.size))) return `${label} ${name} runs past the end of the file`;
  }
}

export const ebmlRule: FormatRule = {
  container: 'ebml',
  sniff: (head) => head.length >= 4 && head.readUInt32BE(0) === EBML_HEADER,
  walk: walkEbml,
};
