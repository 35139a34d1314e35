/**
 * JPEG: SOI, then marker segments (0xFF, marker, 2-byte length that counts itself) up to each
 * SOS, whose entropy-coded data runs until the next marker that is neither a stuffed 0xFF00
 * nor a restart marker RSTn. Progressive files repeat SOS (with DHT between scans); the image
 * ends at EOI. Anything after EOI is accepted: cameras store MPF preview images and vendor
 * trailers there. Bytes between segments that are not a marker are refused, as libjpeg warns
 * about them and sharp (failOn: 'warning') refuses them too.
 */
import { read, scan, skip, type FormatRule, type FormatWalk, type Scanner, type Walk } from './walk.js';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
/** Enough for any real file (progressive ones have a few dozen); a bound for hostile ones. */
const MAX_SEGMENTS = 65_536;

const isRestart = (m: number): boolean => m >= 0xd0 && m <= 0xd7;
/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
const isFrame = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/** Stops at the 0xFF of the first real marker; one split across chunks is finished by the walker. */
const entropyEnd: Scanner = (buf, from) => {
  let i = from;
  for (;;) {
    i = buf.indexOf(0xff, i);
    if (i < 0 || i + 1 >= buf.length) return i;
    const next = buf[i + 1]!;
    if (next !== 0x00 && !isRestart(next)) return i;
    i += 2;
  }
};

/** The marker after a 0xFF (fill bytes 0xFF skipped), -1 when the file ends, -2 when there is no 0xFF. */
function* readMarker(): Walk<number> {
  const lead = yield* read(1);
  if (lead.length === 0) return -1;
  if (lead[0] !== 0xff) return -2;
  for (let fill = 0; fill < MAX_SEGMENTS; fill++) {
    const marker = yield* read(1);
    if (marker.length === 0) return -1;
    if (marker[0] !== 0xff) return marker[0]!;
  }
  return -2;
}

function* walkJpeg(): FormatWalk {
  const soi = yield* read(2);
  if (soi.length < 2 || soi[0] !== 0xff || soi[1] !== SOI) return 'JPEG does not start with a start-of-image marker';
  let inScan = false;
  let sawFrame = false;
  let sawScan = false;
  for (let segments = 0; segments < MAX_SEGMENTS; ) {
    if (inScan && !(yield* scan(entropyEnd))) return 'JPEG ends before its end-of-image marker';
    const marker = yield* readMarker();
    if (marker === -1) return 'JPEG ends before its end-of-image marker';
    if (marker === -2) return 'JPEG has data where a marker should be';
    if (marker === EOI) return sawScan ? null : 'JPEG has no image data';
    // A stuffed byte or restart marker split across chunks: the scan goes on.
    if (inScan && (marker === 0x00 || isRestart(marker))) continue;
    // 0x02–0xBF are reserved: libjpeg stops at them, so here they mean damage.
    if (marker < 0xc0 && marker !== 0x01) return `JPEG has an invalid marker 0xFF${hex(marker)}`;
    if (marker === SOI || isRestart(marker)) return `JPEG has an unexpected marker 0xFF${hex(marker)}`;
    segments++;
    if (marker === 0x01) continue; // TEM: a standalone marker without a length
    const lengthBytes = yield* read(2);
    if (lengthBytes.length < 2) return 'JPEG ends before its end-of-image marker';
    const length = lengthBytes.readUInt16BE(0);
    if (length < 2) return `JPEG segment 0xFF${hex(marker)} has an invalid length`;
    if (!(yield* skip(length - 2))) return `JPEG segment 0xFF${hex(marker)} runs past the end of the file`;
    if (isFrame(marker)) sawFrame = true;
    if (marker === SOS && !sawFrame) return 'JPEG has a scan before its frame header';
    inScan = marker === SOS;
    sawScan ||= inScan;
  }
  return 'JPEG has too many segments';
}

const hex = (m: number): string => m.toString(16).toUpperCase().padStart(2, '0');

export const jpegRule: FormatRule = {
  container: 'jpeg',
  sniff: (head) => head.length >= 3 && head[0] === 0xff && head[1] === SOI && head[2] === 0xff,
  walk: walkJpeg,
};
