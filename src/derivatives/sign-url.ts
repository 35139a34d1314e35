import type { Config } from '../config.js';
import { canonicalQuery, entryQuery, formatOfExt, parseVariantQuery } from '../media/variant-spec.js';
import { withSignature } from './signing.js';

const IMAGE_PATH = /^\/images\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.([a-z]+))?$/i;

/**
 * The signed, canonical form of a derivative URL (`/images/{id}?…` or `/images/{id}.{ext}?…`, as a
 * path or a full URL): the same normalisation the server applies, so the signature survives it.
 */
export function signDerivativeUrl(input: string, config: Readonly<Config>): string {
  const { signingKeys, presets, maxDimension } = config.derivatives;
  if (signingKeys.length === 0) throw new Error('AMS_SIGNING_KEYS is not set: there is no key to sign with');
  const url = new URL(input, 'http://relative.invalid');
  const match = IMAGE_PATH.exec(url.pathname);
  if (!match) throw new Error(`expected /images/{id}?… or /images/{id}.{ext}?…, got ${url.pathname}`);
  const [, id = '', ext] = match;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (k !== 'sig') query[k] = v;
  const req = parseVariantQuery(query, { presets, maxDimension });
  let path = `/images/${id.toLowerCase()}`;
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
