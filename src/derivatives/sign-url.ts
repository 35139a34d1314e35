import type { Config } from '../config.js';
import { canonicalQuery, entryQuery, formatOfExt, parseVariantQuery } from '../media/variant-spec.js';
import { withSignature } from './signing.js';

const ID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const IMAGE_PATH = new RegExp(`^/images/${ID}(?:\\.([a-z]+))?$`, 'i');
const POSTER_PATH = new RegExp(`^/videos/${ID}/poster(?:\\.([a-z]+))?$`, 'i');

/**
 * The signed, canonical form of a derivative URL (`/images/{id}?…` or `/images/{id}.{ext}?…`, or a
 * poster `/videos/{id}/poster[.{ext}]?…`, as a path or a full URL): the same normalisation the
 * server applies, so the signature survives it. (A poster's `time` is not clamped to the duration
 * here; the server checks the signature before it clamps, then redirects to the clamped URL.)
 */
export function signDerivativeUrl(input: string, config: Readonly<Config>): string {
  const { signingKeys, presets, maxDimension } = config.derivatives;
  if (signingKeys.length === 0) throw new Error('AMS_SIGNING_KEYS is not set: there is no key to sign with');
  const url = new URL(input, 'http://relative.invalid');
  const poster = POSTER_PATH.exec(url.pathname);
  const match = poster ?? IMAGE_PATH.exec(url.pathname);
  if (!match) throw new Error(`expected /images/{id}?…, /images/{id}.{ext}?… or /videos/{id}/poster?…, got ${url.pathname}`);
  const [, id = '', ext] = match;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (k !== 'sig') query[k] = v;
  const req = parseVariantQuery(query, { presets, maxDimension }, true, poster !== null);
  let path = poster ? `/videos/${id.toLowerCase()}/poster` : `/images/${id.toLowerCase()}`;
  let canonical: string;
  if (ext === undefined) {
    canonical = entryQuery(req, req.format);
  } else {
    const format = formatOfExt(ext);
    if (format === null) throw new Error(`unknown image extension .${ext}: use jpg, png, webp, avif or gif`);
    if (req.format !== null) throw new Error('give the format either as the extension or as format=, not both');
    path += `.${ext.toLowerCase()}`;
    canonical = canonicalQuery(req, format);
  }
  const base = config.publicUrl ?? `http://localhost:${config.port}`;
  return base + withSignature(signingKeys, path, canonical);
}
