import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';

/**
 * The upload's file name as its client wrote it, read from the raw bytes of the file part's
 * Content-Disposition.
 *
 * @fastify/multipart parses part headers with @fastify/busboy, which offers no setting for two
 * things clients rely on (busboy ≥ 1 has `defParamCharset`; this fork of busboy 0.3 has not):
 * - `filename*=UTF-8''…` beside a plain `filename`: the extended form must win (RFC 6266 §4.3,
 *   RFC 8187), whatever the order; .NET's HttpClient and Postman send both. (RFC 7578 §4.2 tells
 *   senders not to use `filename*` in forms, but those that do mean it.) Busboy keeps the plain one.
 * - A name sent as raw Latin-1 bytes (older clients, Windows tools): busboy decodes every plain
 *   parameter as UTF-8, turning such bytes into U+FFFD before anyone can see them. Bytes that are
 *   not valid UTF-8 are read as windows-1252 instead, as browsers read such headers.
 * So the first bytes of the body are kept until the file part is known, and its header re-read.
 */

/** A file part whose headers start past this many body bytes keeps busboy's reading of its name. */
export const HEAD_LIMIT = 128 * 1024;

/**
 * Watches a multipart body from the tick it is piped to its parser. `nameOf` gives the file part's
 * name from its raw header, or `parsed` (the parser's reading) when it has none there or it cannot
 * be found; it stops watching, as does `stop`.
 */
export function watchFileName(body: Readable, contentType: string | undefined) {
  const boundary = boundaryOf(contentType);
  const kept = boundary === null ? null : keepHead(body);
  return {
    nameOf(parsed: string | undefined): string | undefined {
      const disposition = kept === null || boundary === null ? null : fileDisposition(kept.stop(), boundary);
      return (disposition === null ? undefined : fileNameOf(disposition)) ?? parsed;
    },
    stop(): void {
      kept?.stop();
    },
  };
}

/** The multipart boundary of a Content-Type header, or null. */
export function boundaryOf(contentType: string | undefined): string | null {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m?.[1] ?? m?.[2] ?? null;
}

/**
 * Keeps the first `limit` bytes `body` emits, beside its parser and without slowing it: call it in
 * the tick the body is piped to the parser (data flows from the next tick), so neither misses a
 * chunk. `stop()` detaches and returns what was kept (the same bytes on every call).
 */
export function keepHead(body: Readable, limit = HEAD_LIMIT): { stop(): Buffer } {
  const chunks: Buffer[] = [];
  let kept = 0;
  let head: Buffer | null = null;
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    kept += chunk.length;
    if (kept >= limit) body.off('data', onData);
  };
  body.on('data', onData);
  return {
    stop() {
      body.off('data', onData);
      head ??= Buffer.concat(chunks.splice(0), Math.min(kept, limit));
      return head;
    },
  };
}

/**
 * The Content-Disposition value (one character per byte) of the first part that names a file, as
 * busboy takes the first such part for the upload. Null when it is not within `head`.
 */
export function fileDisposition(head: Buffer, boundary: string): string | null {
  const first = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  let at = head.indexOf(first);
  let skip = first.length;
  while (at !== -1) {
    const start = at + skip;
    if (head[start] === 0x2d && head[start + 1] === 0x2d) return null; // the closing delimiter
    const end = head.indexOf('\r\n\r\n', start);
    if (end === -1) return null;
    const headers = head.toString('latin1', start, end);
    const disposition = /^content-disposition[ \t]*:[ \t]*(.*)$/im.exec(headers)?.[1];
    if (disposition !== undefined) {
      const params = dispositionParams(disposition);
      if (params.has('filename') || params.has('filename*')) return disposition;
    }
    at = head.indexOf(next, end);
    skip = next.length;
  }
  return null;
}

/** The parameters of a Content-Disposition value, names lower-cased, quoted values unquoted. */
export function dispositionParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  let i = value.indexOf(';');
  while (i !== -1) {
    const eq = value.indexOf('=', i);
    if (eq === -1) break;
    const name = value.slice(i + 1, eq).trim().toLowerCase();
    let j = eq + 1;
    while (value[j] === ' ' || value[j] === '\t') j++;
    let raw = '';
    if (value[j] === '"') {
      // As busboy reads it: a backslash escapes only `"` and `\`, and stays before anything else
      // (IE sent Windows paths unescaped).
      for (j++; j < value.length && value[j] !== '"'; j++) {
        if (value[j] === '\\' && (value[j + 1] === '"' || value[j + 1] === '\\')) j++;
        raw += value[j];
      }
      i = value.indexOf(';', j);
    } else {
      i = value.indexOf(';', j);
      raw = value.slice(j, i === -1 ? undefined : i).trim();
    }
    if (!params.has(name)) params.set(name, raw);
  }
  return params;
}

/**
 * The file name a Content-Disposition value (one character per byte) gives: `filename*` when it
 * decodes, else `filename` as UTF-8, or as windows-1252 when its bytes are not UTF-8. Undefined
 * when it gives none.
 */
export function fileNameOf(disposition: string): string | undefined {
  const params = dispositionParams(disposition);
  const extended = params.get('filename*');
  const decoded = extended === undefined ? null : decodeExtValue(extended);
  if (decoded !== null) return decoded;
  const plain = params.get('filename');
  if (plain === undefined) return undefined;
  const bytes = Buffer.from(plain, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : windows1252(bytes);
}

/** RFC 8187 `charset'[language]'pct-encoded`, in UTF-8 or ISO-8859-1; null when malformed. */
function decodeExtValue(ext: string): string | null {
  const m = /^([\w!#$%&+^`{}~-]+)'[^']*'(.*)$/.exec(ext);
  const charset = m?.[1]?.toLowerCase();
  if (m?.[2] === undefined || (charset !== 'utf-8' && charset !== 'iso-8859-1')) return null;
  if (/%(?![0-9a-f]{2})/i.test(m[2])) return null;
  const bytes = Buffer.from(m[2].replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  if (charset === 'iso-8859-1') return windows1252(bytes); // as WHATWG Encoding reads that label
  return isUtf8(bytes) ? bytes.toString('utf8') : null;
}

/**
 * windows-1252's characters for 0x80–0x9F, where it differs from ISO-8859-1 (WHATWG Encoding;
 * its five unassigned bytes stay C1 controls). Node 20's TextDecoder('windows-1252') decodes as
 * ISO-8859-1, so the table is here.
 */
const CP1252_80_9F =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function windows1252(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[\u0080-\u009f]/g, (c) => CP1252_80_9F[c.charCodeAt(0) - 0x80] ?? c);
}
