/**
 * ISO base media files (MP4, MOV, 3GP, HEIF, AVIF): top-level boxes of size(4) type(4), where
 * size 1 means a 64-bit largesize follows and size 0 means "to the end of the file". Only the
 * top level is walked — payloads such as 'mdat' are stepped over — and its boxes must tile the
 * file exactly: a box running past the end is truncation, bytes left after the last box are
 * damage. 'ftyp' must come before the media boxes (writers of QuickTime put 'wide'/'free'
 * first at most, and legacy QuickTime files have no 'ftyp' at all, which is accepted). Movies
 * need a 'moov'; HEIF/AVIF still images carry their structure in a top-level 'meta' instead.
 */
import { read, skip, type FormatRule, type FormatWalk } from './walk.js';

/** Box types that hold or describe media; 'ftyp' must precede all of them. */
const MEDIA_BOXES = new Set(['moov', 'mdat', 'meta', 'moof']);
/** Brands of the image formats built on this container (MIAF / HEIF / AVIF). */
const IMAGE_BRANDS = new Set(['mif1', 'msf1', 'miaf', 'avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'avci']);
const SIGNATURE_BOXES = new Set(['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);
/** Brand bytes read from 'ftyp'; files list a handful of brands, the rest is stepped over. */
const MAX_FTYP_READ = 64;

/** Top-level box types are printable four-character codes; garbage means the walk lost its place. */
function isBoxType(head: Buffer): boolean {
  for (let i = 4; i < 8; i++) if (head[i]! < 0x20 || head[i]! > 0x7e) return false;
  return true;
}

function labelFor(major: string): string {
  if (major === 'qt  ') return 'MOV';
  if (major === 'avif' || major === 'avis') return 'AVIF';
  return IMAGE_BRANDS.has(major) ? 'HEIF' : 'MP4';
}

function* walkIsobmff(): FormatWalk {
  let label = 'MP4';
  let sawFtyp = false;
  let sawMedia = false;
  let imageBrand = false;
  let sawMoov = false;
  let sawMeta = false;
  const verdict = (): string | null => {
    if (sawMoov || (imageBrand && sawMeta)) return null;
    return imageBrand ? `${label} has no 'meta' box` : `${label} has no 'moov' box`;
  };
  for (;;) {
    const head = yield* read(8);
    if (head.length === 0) return verdict();
    if (head.length < 8) return `${label} has ${head.length} stray bytes after its last box`;
    if (!isBoxType(head)) return `${label} has a damaged box header`;
    const type = head.toString('latin1', 4, 8);
    let size = head.readUInt32BE(0);
    let headerSize = 8;
    if (size === 1) {
      const large = yield* read(8);
      if (large.length < 8) return `${label} box '${type}' runs past the end of the file`;
      // Beyond 2^53 the value is imprecise, but such a box overruns any real file either way.
      size = Number(large.readBigUInt64BE(0));
      headerSize = 16;
    }
    if (size !== 0 && size < headerSize) return `${label} box '${type}' has an invalid size`;
    sawMoov ||= type === 'moov';
    sawMeta ||= type === 'meta';
    let bodyRead = 0;
    if (type === 'ftyp') {
      if (sawFtyp || sawMedia) return `${label} has a misplaced 'ftyp' box`;
      sawFtyp = true;
      const bodySize = size === 0 ? MAX_FTYP_READ : size - headerSize;
      const brands = yield* read(Math.min(bodySize, MAX_FTYP_READ));
      if (brands.length < 8) return `${label} 'ftyp' box is incomplete`;
      bodyRead = brands.length;
      const major = brands.toString('latin1', 0, 4);
      label = labelFor(major);
      for (let i = 0; i < brands.length - 3; i += i === 0 ? 8 : 4) {
        imageBrand ||= IMAGE_BRANDS.has(brands.toString('latin1', i, i + 4));
      }
    }
    sawMedia ||= MEDIA_BOXES.has(type);
    // Size 0 runs to the end of the file, so it is necessarily the last box and fits.
    if (size === 0) return verdict();
    if (!(yield* skip(size - headerSize - bodyRead))) return `${label} box '${type}' runs past the end of the file`;
  }
}

export const isobmffRule: FormatRule = {
  container: 'isobmff',
  sniff: (head) => head.length >= 8 && SIGNATURE_BOXES.has(head.toString('latin1', 4, 8)),
  walk: walkIsobmff,
};
