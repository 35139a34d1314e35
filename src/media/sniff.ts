/**
 * What a file *is*, from its magic bytes — never from the client's file name or Content-Type.
 * Binary formats come from file-type; SVG and HTML (which file-type does not name) from a small
 * look at the start of the text.
 */
import { open } from 'node:fs/promises';
import { fileTypeFromBuffer, fileTypeFromFile } from 'file-type';
import { errors, SOUND_ONLY } from '../errors.js';
import type { FileHead, MediaFormat } from './types.js';

/**
 * file-type's MIME (variants included) → our canonical format. Anything not here is refused.
 * - TIFF uses `tif`, file-type's own extension, everywhere (URLs, keys, expected values).
 * - APNG is a PNG whose first frame every PNG reader shows; we store it as a PNG.
 * - HEIC/HEIF stills are *store-only*: sharp's prebuilt libvips reads their header (so we know the
 *   size) but cannot decode HEVC, so no variants can be made. Refusing them would turn away iPhone
 *   photos; accepting them as files is the smaller harm. HEIF *sequences* are refused.
 */
const SUPPORTED: Readonly<Record<string, MediaFormat>> = {
  'image/jpeg': { kind: 'image', mimeType: 'image/jpeg', ext: 'jpg' },
  'image/png': { kind: 'image', mimeType: 'image/png', ext: 'png' },
  'image/apng': { kind: 'image', mimeType: 'image/png', ext: 'png' },
  'image/gif': { kind: 'image', mimeType: 'image/gif', ext: 'gif' },
  'image/webp': { kind: 'image', mimeType: 'image/webp', ext: 'webp' },
  'image/avif': { kind: 'image', mimeType: 'image/avif', ext: 'avif' },
  'image/tiff': { kind: 'image', mimeType: 'image/tiff', ext: 'tif' },
  'image/bmp': { kind: 'image', mimeType: 'image/bmp', ext: 'bmp' },
  'image/x-ms-bmp': { kind: 'image', mimeType: 'image/bmp', ext: 'bmp' },
  'image/heic': { kind: 'image', mimeType: 'image/heic', ext: 'heic' },
  'image/heif': { kind: 'image', mimeType: 'image/heic', ext: 'heic' },
  'video/mp4': { kind: 'video', mimeType: 'video/mp4', ext: 'mp4' },
  'video/x-m4v': { kind: 'video', mimeType: 'video/mp4', ext: 'mp4' },
  'video/quicktime': { kind: 'video', mimeType: 'video/quicktime', ext: 'mov' },
  'video/webm': { kind: 'video', mimeType: 'video/webm', ext: 'webm' },
  'video/matroska': { kind: 'video', mimeType: 'video/x-matroska', ext: 'mkv' },
  'video/x-matroska': { kind: 'video', mimeType: 'video/x-matroska', ext: 'mkv' },
  'video/vnd.avi': { kind: 'video', mimeType: 'video/x-msvideo', ext: 'avi' },
  'video/x-msvideo': { kind: 'video', mimeType: 'video/x-msvideo', ext: 'avi' },
  'video/avi': { kind: 'video', mimeType: 'video/x-msvideo', ext: 'avi' },
  'video/3gpp': { kind: 'video', mimeType: 'video/3gpp', ext: '3gp' },
  'video/3gpp2': { kind: 'video', mimeType: 'video/3gpp2', ext: '3g2' },
};

/** How much text to look at for markup. A longer preamble only changes *which* refusal is given. */
const MARKUP_WINDOW = 4096;

/**
 * Types file-type names from their first bytes alone (a signature, an ftyp brand, an EBML DocType,
 * a RIFF form), so a file's head gives the same answer as the whole file. Not TIFF: its IFD may sit
 * at the end, and camera raw formats are told apart there.
 */
const DECIDED_BY_HEAD = new Set(Object.keys(SUPPORTED).filter((mime) => mime !== 'image/tiff'));

/**
 * Sniffs the upload at `path`; `head` (its first bytes, kept by the receive pass) spares opening
 * the file when the answer is in it.
 */
export async function sniffMediaFormat(path: string, head?: FileHead): Promise<MediaFormat> {
  const detected = await detect(path, head);
  const format = detected && SUPPORTED[detected.mime];
  if (format?.mimeType === 'image/heic' && hasAvifBrand(await readHead(path, 64, head))) return { ...SUPPORTED['image/avif']! };
  if (format) return { ...format };
  // file-type calls SVG `application/xml` or nothing at all, and never names HTML.
  if (!detected || detected.mime === 'application/xml') {
    const markup = classifyMarkup(await readHead(path, MARKUP_WINDOW, head));
    if (markup === 'svg') throw errors.svgRefused();
    if (markup === 'html') throw errors.unsupportedMedia('text/html');
  }
  if (detected?.mime.startsWith('audio/')) throw errors.unsupportedMedia(`${detected.mime}, ${SOUND_ONLY}`);
  throw errors.unsupportedMedia(detected?.mime ?? 'unrecognised content');
}

async function detect(path: string, head: FileHead | undefined) {
  if (head !== undefined) {
    const detected = await fileTypeFromBuffer(head.bytes);
    if (head.complete || (detected !== undefined && DECIDED_BY_HEAD.has(detected.mime))) return detected;
  }
  // fileTypeFromFile reads through a file tokenizer, so TIFFs whose IFD sits at the end still work.
  return fileTypeFromFile(path);
}

/**
 * file-type judges HEIF by the major brand alone, so an AVIF written as `mif1` + compatible `avif`
 * (some encoders do) would pass for HEIC and lose its variants. The compatible brands decide.
 */
function hasAvifBrand(head: Buffer): boolean {
  if (head.length < 16 || head.toString('latin1', 4, 8) !== 'ftyp') return false;
  const end = Math.min(head.readUInt32BE(0), head.length);
  for (let at = 16; at + 4 <= end; at += 4) if (head.toString('latin1', at, at + 4) === 'avif') return true;
  return false;
}

async function readHead(path: string, length: number, head?: FileHead): Promise<Buffer> {
  if (head !== undefined && (head.complete || head.bytes.length >= length)) return head.bytes.subarray(0, length);
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await file.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

function decodeText(head: Buffer): string {
  if (head[0] === 0xff && head[1] === 0xfe) return new TextDecoder('utf-16le').decode(head.subarray(2));
  if (head[0] === 0xfe && head[1] === 0xff) return new TextDecoder('utf-16be').decode(head.subarray(2));
  return new TextDecoder('utf-8').decode(head).replace(/^\uFEFF/, '');
}

/**
 * Skips what may legally precede the root element (whitespace, XML declaration, processing
 * instructions, comments, a DOCTYPE with or without an internal subset), then names the root.
 */
export function classifyMarkup(head: Buffer): 'svg' | 'html' | null {
  let text = decodeText(head);
  let doctype = '';
  for (let skip = 0; ; text = text.slice(skip)) {
    text = text.trimStart();
    skip = preambleLength(text);
    if (skip === 0) break;
    if (skip < 0) return null; // unterminated within the window
    if (/^<!doctype/i.test(text)) doctype = text.slice(0, skip).toLowerCase();
  }
  // `<svg` or a namespace-prefixed root like `<svg:svg`.
  if (/^<([a-z][\w.-]*:)?svg[\s/>]/i.test(text) || doctype.startsWith('<!doctype svg')) return 'svg';
  if (doctype.startsWith('<!doctype html') || /^<(html|head|body)[\s>]/i.test(text)) return 'html';
  return null;
}

/** Length of the leading prolog item (0 if the text does not start with one, -1 if it is cut off). */
function preambleLength(text: string): number {
  const after = (marker: string, from = 0) => {
    const at = text.indexOf(marker, from);
    return at === -1 ? -1 : at + marker.length;
  };
  if (text.startsWith('<?')) return after('?>');
  if (text.startsWith('<!--')) return after('-->');
  if (!/^<!doctype/i.test(text)) return 0;
  const subset = text.indexOf('[');
  const close = text.indexOf('>');
  // An internal subset `[ … ]` may itself contain `>`.
  if (subset !== -1 && (close === -1 || subset < close)) {
    const end = after(']', subset);
    return end === -1 ? -1 : after('>', end);
  }
  return close === -1 ? -1 : close + 1;
}
