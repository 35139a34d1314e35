/**
 * Abuse guards for a public deployment: HMAC-signed derivative URLs and a presets-only mode, so
 * nobody can make the service compute arbitrary sizes. Pure apart from the HMAC.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { errors } from '../errors.js';
import { parseVariantQuery, type Geometry, type VariantRules } from '../media/variant-spec.js';

/**
 * The signature of a canonical URL (path + canonical query, never the host: the same URL is valid
 * behind any CDN name). 128 bits of HMAC-SHA256, base64url.
 */
export function signPath(key: string, pathAndQuery: string): string {
  return createHmac('sha256', key).update(pathAndQuery).digest().subarray(0, 16).toString('base64url');
}

/** Appends `sig` as the last parameter; the first key signs, the others are only accepted (rotation). */
export function withSignature(keys: readonly string[], path: string, query: string): string {
  const url = query === '' ? path : `${path}?${query}`;
  const [signing] = keys;
  if (signing === undefined) return url;
  return `${url}${query === '' ? '?' : '&'}sig=${signPath(signing, url)}`;
}

/** Throws 403 unless `sig` is the signature of `path?query` under one of `keys`. */
export function verifySignature(keys: readonly string[], path: string, query: string, sig: string | null): void {
  if (keys.length === 0) return;
  if (sig === null) throw errors.signatureInvalid('This URL has no signature');
  const url = query === '' ? path : `${path}?${query}`;
  const given = Buffer.from(sig);
  const ok = keys.some((k) => {
    const expected = Buffer.from(signPath(k, url));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!ok) throw errors.signatureInvalid('The signature does not match this URL');
}

/**
 * Presets-only mode: the geometry must be one of the presets, at a dpr from 1 to 4 (the canonical
 * URL has folded the dpr into width and height, so the ratio is recovered from them). A plain
 * format conversion at the source size is also allowed: there are only a few per source.
 */
export function matchesPreset(g: Geometry, rules: VariantRules): boolean {
  if (g.width === null && g.height === null) return true;
  return Object.values(rules.presets).some((query) => {
    const p = parseVariantQuery(Object.fromEntries(new URLSearchParams(query)), rules, false);
    if (p.fit !== g.fit && p.width !== null && p.height !== null) return false;
    if (p.quality !== g.quality || p.enlarge !== g.enlarge) return false;
    if ((p.width === null) !== (g.width === null) || (p.height === null) !== (g.height === null)) return false;
    const ref = p.width ?? (p.height as number);
    const dpr = (g.width ?? (g.height as number)) / ref;
    if (dpr < 1 || dpr > 4) return false;
    const scaled = (v: number | null) => (v === null ? null : Math.round(v * dpr));
    return scaled(p.width) === g.width && scaled(p.height) === g.height;
  });
}
