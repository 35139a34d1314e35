import type { ByteRange } from '../blob/store.js';
import { parseRange } from './range.js';

/** What is being served: the facts the response depends on, all known before any byte is read. */
export interface Representation {
  /** Strong entity tag, quoted. */
  etag: string;
  size: number;
  contentType: string;
  lastModified: Date;
  fileName: string;
}

export interface DeliveryRequest {
  method: string;
  range?: string;
  ifNoneMatch?: string;
  ifRange?: string;
}

export type DeliveryPlan =
  | { status: 200; headers: Record<string, string>; range: null; body: boolean }
  | { status: 206; headers: Record<string, string>; range: ByteRange; body: boolean }
  | { status: 304; headers: Record<string, string> }
  | { status: 416; headers: Record<string, string>; size: number };

const IMMUTABLE = 'public, max-age=31536000, immutable';

function etagMatches(list: string, etag: string): boolean {
  // If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
  const opaque = etag.replace(/^W\//, '');
  return list.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === opaque;
  });
}

/** RFC 8187 ext-value: encodeURIComponent leaves ' ( ) * alone, but they are not attr-chars (' delimits the charset). */
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function ifRangeAllows(ifRange: string | undefined, rep: Representation): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  // If-Range needs a strong match; a date counts only if it equals Last-Modified exactly.
  if (v.startsWith('"')) return v === rep.etag;
  return v === rep.lastModified.toUTCString();
}

/**
 * Decides the response to a GET/HEAD of a stored file: 200, 206, 304 or 416, with its headers.
 * Pure, so every edge case is a table test; `renderDelivery` turns the plan into a reply.
 */
export function planDelivery(rep: Representation, req: DeliveryRequest): DeliveryPlan {
  const common: Record<string, string> = {
    etag: rep.etag,
    'cache-control': IMMUTABLE,
    'last-modified': rep.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
  };
  const body = req.method !== 'HEAD';
  if (req.ifNoneMatch !== undefined && etagMatches(req.ifNoneMatch, rep.etag)) {
    return { status: 304, headers: common };
  }
  const full = {
    ...common,
    'content-type': rep.contentType,
    'content-disposition': `inline; filename*=UTF-8''${encodeRfc8187(rep.fileName)}`,
  };
  const parsed = ifRangeAllows(req.ifRange, rep) ? parseRange(req.range, rep.size) : { kind: 'none' as const };
  if (parsed.kind === 'unsatisfiable') {
    return { status: 416, headers: { ...common, 'content-range': `bytes */${rep.size}` }, size: rep.size };
  }
  if (parsed.kind === 'range') {
    const { start, end } = parsed.range;
    return {
      status: 206,
      headers: { ...full, 'content-range': `bytes ${start}-${end}/${rep.size}`, 'content-length': String(end - start + 1) },
      range: parsed.range,
      body,
    };
  }
  return { status: 200, headers: { ...full, 'content-length': String(rep.size) }, range: null, body };
}
