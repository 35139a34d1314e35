import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { BlobStore } from '../../blob/store.js';
import type { FileCache } from '../../delivery/file-cache.js';
import { planDelivery, type Representation } from '../../delivery/plan.js';
import { deliveryRequestOf, renderDelivery } from '../render-delivery.js';
import { errors } from '../../errors.js';
import type { MediaKind } from '../../media/types.js';
import type { AssetRecord, AssetRepository } from '../../meta/repository.js';
import { fileUrl } from '../asset-json.js';
import { DERIVATIVE_DOC, DerivativeQuerySchema } from '../derivative-query.js';
import type { DerivativeHandlers } from '../derivatives.js';
import { findAsset } from './assets.js';
import { directResponse } from './direct.js';

export interface FileRoutesOptions {
  repo: AssetRepository;
  blobs: BlobStore;
  /** Small files from memory; the only way file bytes are read here. */
  files: FileCache;
  publicUrl: () => string;
  /** Lifetime of presigned redirect targets (object storage); unused on disk. */
  directUrlTtlSeconds?: number;
  /** Resize / convert on `/images` (any query string); absent = originals only. */
  derivatives?: DerivativeHandlers;
}

/** One representation per cached row object, so its headers are formatted once (see planDelivery). */
const representations = new WeakMap<AssetRecord, Representation>();
export function representationOf(asset: AssetRecord): Representation {
  let rep = representations.get(asset);
  if (rep === undefined) {
    rep = { etag: `"${asset.sha256}"`, size: asset.sizeBytes, contentType: asset.mimeType, lastModified: asset.createdAt, fileName: asset.name };
    representations.set(asset, rep);
  }
  return rep;
}

const ROUTES: Array<{ prefix: string; kind: MediaKind; noun: string }> = [
  { prefix: '/images', kind: 'image', noun: 'image' },
  { prefix: '/videos', kind: 'video', noun: 'video' },
];

export const fileRoutes: FastifyPluginAsync<FileRoutesOptions> = async (app, opts) => {
  for (const { prefix, kind, noun } of ROUTES) {
    // HEAD is declared, not derived: Fastify's derived HEAD would replace our Content-Length with 0.
    app.route({
      method: ['GET', 'HEAD'],
      url: `${prefix}/:file`,
      schema: {
        summary: `An ${noun}: \`{id}\` redirects (303) to its file URL; \`{id}.{ext}\` is the file itself`,
        description:
          'The file URL serves the exact uploaded bytes with a strong ETag and immutable caching; supports Range (206/416), If-None-Match and If-Modified-Since (304), If-Match and If-Unmodified-Since (412), and HEAD.' +
          (kind === 'image' ? DERIVATIVE_DOC : ''),
        tags: ['files'],
        params: Type.Object({ file: Type.String({ description: 'Asset id, or `{id}.{ext}` for the file itself' }) }),
        ...(kind === 'image' ? { querystring: DerivativeQuerySchema } : {}),
        response: {
          200: { description: 'The file (for `{id}.{ext}`)', type: 'string', format: 'binary' },
          206: { description: 'Part of the file (Range)', type: 'string', format: 'binary' },
          303: {
            description: 'For `{id}`: redirect to the file URL (`href`), or, when files live in object storage, to a presigned or CDN URL of the same bytes',
            type: 'null',
          },
          304: { description: 'Not modified (If-None-Match, If-Modified-Since)', type: 'null' },
          400: { $ref: 'Error#' },
          // SIGNATURE_INVALID: derivative URLs need a `sig` when AMS_SIGNING_KEYS is set.
          ...(kind === 'image' ? { 403: { $ref: 'Error#' } } : {}),
          404: { $ref: 'Error#' },
          412: { $ref: 'Error#' },
          416: { $ref: 'Error#' },
          // The database or storage cannot be reached; for images, also the transform queue is full or a transform timed out.
          503: { $ref: 'Error#' },
        },
      },
      handler: async (request, reply) => {
        const { file } = request.params as { file: string };
        const dot = file.indexOf('.');
        if (dot === -1) {
          const asset = await findAsset(opts.repo, file);
          if (asset.kind !== kind) throw errors.wrongType();
          if (opts.derivatives && kind === 'image' && request.url.includes('?')) return opts.derivatives.redirect(request, reply, asset);
          const ttl = opts.directUrlTtlSeconds ?? 3600;
          const direct = await opts.blobs.directUrl(asset.blobKey, ttl, directResponse(asset));
          // A presigned target expires: the redirect may be cached only for part of its lifetime.
          if (direct !== null) reply.header('cache-control', `private, max-age=${Math.floor(ttl / 2)}`);
          return reply.code(303).header('location', direct ?? fileUrl(opts.publicUrl(), asset)).send();
        }
        const asset = await findAsset(opts.repo, file.slice(0, dot));
        const ext = file.slice(dot + 1).toLowerCase();
        if (opts.derivatives && kind === 'image' && asset.kind === kind && request.url.includes('?')) {
          return opts.derivatives.file(request, reply, asset, ext);
        }
        if (asset.kind !== kind || file.slice(dot + 1).toLowerCase() !== asset.ext) throw errors.notFound();
        const plan = planDelivery(representationOf(asset), deliveryRequestOf(request.method, request.headers));
        return renderDelivery(reply, plan, opts.files, asset.blobKey, asset.sizeBytes);
      },
    });
  }
};
