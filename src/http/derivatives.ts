/**
 * The derivative side of `/images/{id}?…` and `/images/{id}.{ext}?…` (any query string), and of
 * video posters: `/videos/{id}/poster?…` and `/videos/{id}/poster.{ext}[?…]`.
 * The entry URL answers 303 to the ONE canonical derivative URL; that URL serves the stored
 * derivative exactly like an original (strong ETag, immutable caching, 304, Range).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FileCache } from '../delivery/file-cache.js';
import { planDelivery, type Representation } from '../delivery/plan.js';
import type { DerivativeService } from '../derivatives/service.js';
import { matchesPreset, verifySignature, withSignature } from '../derivatives/signing.js';
import { errors } from '../errors.js';
import { derivativeMetrics } from '../derivatives/metrics.js';
import { TransformTimeout } from '../media/transform.js';
import {
  canonicalQuery,
  defaultFormat,
  entryQuery,
  EXT_OF,
  formatOfExt,
  negotiateFormat,
  fitToSource,
  parseVariantQuery,
  type Geometry,
  type OutputFormat,
  type VariantRules,
} from '../media/variant-spec.js';
import type { AssetRecord } from '../meta/repository.js';
import { fileUrl } from './asset-json.js';
import { deliveryRequestOf, renderDelivery } from './render-delivery.js';

export interface DerivativeHttpOptions {
  service: DerivativeService;
  /** Serves stored derivatives (small ones from memory). */
  files: FileCache;
  rules: VariantRules;
  /** HMAC keys: empty = unsigned URLs accepted; else the first signs and all verify. */
  signingKeys: readonly string[];
  presetsOnly: boolean;
  publicUrl: () => string;
}

/** HEIC cannot be decoded here and prebuilt sharp cannot read BMP: both are store-only. */
const STORE_ONLY = new Set(['image/heic', 'image/bmp']);

export function createDerivativeHandlers(opts: DerivativeHttpOptions) {
  const { rules, signingKeys } = opts;
  /**
   * Derivatives known to be stored, by asset and key: a warm request then needs no stat of the
   * blob, no hashing for its ETag and no header formatting (planDelivery memoises per object).
   * Keys are never overwritten, so an entry stays true for as long as the blob exists.
   */
  const stored = new LRUCache<string, Representation>({ max: 10_000 });
  /** Canonical derivative URLs (path and query, as requested) already served from the store: hot-reads.ts answers them again. */
  const servedUrls = new LRUCache<string, StoredDerivative>({ max: 10_000 });

  /** Where an asset's derivatives are asked for: an image's own path, a video's poster. */
  const entryPath = (asset: AssetRecord) => (asset.kind === 'video' ? `/videos/${asset.id}/poster` : `/images/${asset.id}`);

  /** Parses, checks the source, the signature (over the canonical form) and the presets-only rule. */
  async function admit(asset: AssetRecord, request: FastifyRequest, path: string, format: OutputFormat | null) {
    if (STORE_ONLY.has(asset.mimeType)) throw errors.notTransformable(asset.mimeType, fileUrl(opts.publicUrl(), asset));
    const video = asset.kind === 'video';
    // Without ffmpeg, say so at once rather than after a redirect.
    if (video) await opts.service.assertPostersAvailable();
    const query = request.query as Record<string, unknown>;
    const req = parseVariantQuery(query, rules, true, video);
    if (format !== null && req.format !== null) throw errors.invalidParameter('format', req.format, 'the extension alone to choose the format');
    verifySignature(signingKeys, path, format === null ? entryQuery(req, req.format) : canonicalQuery(req, format), req.sig);
    if (opts.presetsOnly && !matchesPreset(req, rules)) throw errors.presetRequired(Object.keys(rules.presets).join('|'));
    if (req.time !== null && req.time !== undefined) {
      // Presets-only bounds the variants a client can make us compute; any time would undo that.
      if (opts.presetsOnly) throw errors.invalidParameter('time', String(req.time), 'the default frame (only presets are served here)');
      // No frame exists past the end: every later time names the same poster, so one URL. Clamped
      // after the signature check, so a URL signed without knowing the duration stays valid.
      if (asset.durationMs !== null) req.time = Math.min(req.time, asset.durationMs / 1000);
    }
    // After the signature and preset checks, which are about what the client asked for.
    return fitToSource(req, asset.width, asset.height);
  }

  /** The canonical URL of a derivative; the original's own URL when nothing would change. */
  function derivativeUrl(asset: AssetRecord, g: Geometry, format: OutputFormat, signed = true): string {
    let query = canonicalQuery(g, format);
    if (asset.kind === 'image') {
      if (query === '' && EXT_OF[format] === asset.ext) return fileUrl(opts.publicUrl(), asset);
      // A bare `{id}.{other ext}` stays 404 (published contract): a full-size conversion names its width.
      if (query === '') query = `width=${asset.width}`;
    }
    return opts.publicUrl() + withSignature(signed ? signingKeys : [], `${entryPath(asset)}.${EXT_OF[format]}`, query);
  }

  /** `GET /images/{id}?…` (or `/videos/{id}/poster?…`) → 303 to the canonical derivative URL. */
  async function redirect(request: FastifyRequest, reply: FastifyReply, asset: AssetRecord) {
    const req = await admit(asset, request, entryPath(asset), null);
    if (req.format !== 'auto') {
      const format = req.format ?? defaultFormat(asset.mimeType);
      return reply.code(303).header('location', derivativeUrl(asset, req, format)).send();
    }
    reply.header('vary', 'Accept');
    const options = negotiateFormat(request.headers.accept, asset.mimeType);
    let chosen = options[0] as OutputFormat;
    if (chosen === 'avif' && options.length > 1) {
      // AVIF is the slow encoder: make it here, within the transform budget, and fall back to
      // the next format the client accepts when the budget runs out.
      try {
        await opts.service.ensure(asset, req, 'avif');
      } catch (err) {
        if (!(err instanceof TransformTimeout)) throw err;
        request.log.warn({ asset: asset.id }, 'AVIF derivative timed out; redirecting to the next format');
        chosen = options[1] as OutputFormat;
      }
    }
    return reply.code(303).header('location', derivativeUrl(asset, req, chosen)).send();
  }

  /** `GET /images/{id}.{ext}?…` (or `/videos/{id}/poster.{ext}`) → the derivative itself (redirected first when not canonical). */
  async function file(request: FastifyRequest, reply: FastifyReply, asset: AssetRecord, ext: string) {
    const format = formatOfExt(ext);
    if (format === null) throw errors.notFound();
    const path = `${entryPath(asset)}.${ext}`;
    const req = await admit(asset, request, path, format);
    // Canonical = the canonical query, then the signature (if any) last. Any key may have signed it.
    const q = request.url.indexOf('?');
    const raw = (q === -1 ? '' : request.url.slice(q)).replace(/[?&]sig=[^&]*$/, '');
    if (opts.publicUrl() + path + raw !== derivativeUrl(asset, req, format, false)) {
      return reply.code(303).header('location', derivativeUrl(asset, req, format)).send();
    }

    const key = opts.service.keyOf(asset, req, format);
    const memo = `${asset.id} ${key}`;
    const known = stored.get(memo);
    // A key names exactly one stored blob (puts never overwrite), so its hash is a strong validator,
    // known before the derivative exists: a revalidation never costs a transform.
    const etag = known?.etag ?? `"${createHash('sha256').update(key).digest('hex').slice(0, 40)}"`;
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((t) => ['*', etag, `W/${etag}`].includes(t.trim()))) {
      return reply.code(304).headers({ etag, 'cache-control': 'public, max-age=31536000, immutable' }).send();
    }
    let rep = known;
    let bytes: Buffer | undefined;
    if (rep !== undefined) {
      derivativeMetrics.hits.inc();
      servedUrls.set(request.url, { assetId: asset.id, route: request.routeOptions.url ?? '', key, rep });
    } else {
      let made;
      try {
        made = await opts.service.ensure(asset, req, format);
      } catch (err) {
        throw err instanceof TransformTimeout ? errors.derivativeTimeout() : err;
      }
      const base = asset.name.replace(/\.[^.]*$/, '');
      rep = { etag, size: made.size, contentType: made.contentType, lastModified: asset.createdAt, fileName: `${base}.${EXT_OF[format]}` };
      bytes = made.bytes;
      // The bytes of a transform this request waited for are the next requests' cache entry; the
      // representation is remembered once the blob was found stored (a write-behind put may fail).
      if (bytes) opts.files.remember(key, bytes);
      else stored.set(memo, rep);
    }
    const plan = planDelivery(rep, deliveryRequestOf(request.method, request.headers));
    return renderDelivery(reply, plan, opts.files, key, rep.size, bytes);
  }

  return { redirect, file, drain: () => opts.service.drain(), servedAt: (url: string) => servedUrls.get(url) };
}

/** A derivative known to be stored, under the canonical URL it was served at. */
export interface StoredDerivative {
  assetId: string;
  /** The route pattern that served it (for metrics). */
  route: string;
  key: string;
  rep: Representation;
}

export type DerivativeHandlers = ReturnType<typeof createDerivativeHandlers>;
