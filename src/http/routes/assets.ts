import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { errors } from '../../errors.js';
import type { AssetIngest } from '../../ingest/ingest.js';
import { UndoList } from '../../ingest/undo.js';
import type { AssetRecord, AssetRepository } from '../../meta/repository.js';
import { etagMatches } from '../../delivery/plan.js';
import { toAssetJson } from '../asset-json.js';
import { receiveSingleFile } from './upload.js';
import type { IdempotencyStore } from '../../meta/idempotency.js';
import { checkDigests } from '../digests.js';
import type { InFlight } from '../../ops/in-flight.js';
import type { PlaceholderQueue } from '../../ingest/placeholder-queue.js';
import { beginIdempotentUpload, checkIdempotencyKeyHeader } from '../idempotent.js';

export interface AssetRoutesOptions {
  repo: AssetRepository;
  ingest: AssetIngest;
  publicUrl: () => string;
  tempDir: string;
  maxUploadBytes: number;
  requireToken: (request: FastifyRequest) => void | Promise<void>;
  /** Idempotency-Key support (issue 5); without a store the header is ignored. */
  idempotency?: IdempotencyStore;
  idempotencyTtlS?: number;
  /** Counts this upload while it runs (graceful shutdown waits on it). */
  inFlight?: InFlight;
  countBytes?: (n: number) => void;
  /** Makes image placeholders after the 201; without it assets have none. */
  placeholders?: PlaceholderQueue;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Looks an asset up by its public id; anything that is not a GUID is simply not found. */
export async function findAsset(repo: AssetRepository, id: string) {
  const asset = UUID.test(id) ? await repo.findById(id.toLowerCase()) : null;
  if (asset === null) throw errors.notFound();
  return asset;
}

/**
 * The JSON of an asset, its length in bytes and its entity tag, made once per cached row object
 * (and base URL): the hottest read of a storefront. Fastify sends a string typed application/json
 * as it is; the schema still documents it. The tag is a digest of the JSON itself, so it changes
 * whenever the answer does (placeholders added, another base URL).
 */
export interface AssetBody {
  json: string;
  bytes: number;
  etag: string;
}
const serialised = new WeakMap<AssetRecord, AssetBody & { base: string }>();
export function serialisedAsset(asset: AssetRecord, base: string): AssetBody {
  const hit = serialised.get(asset);
  if (hit !== undefined && hit.base === base) return hit;
  const json = JSON.stringify(toAssetJson(asset, base));
  const etag = `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
  const made = { base, json, bytes: Buffer.byteLength(json), etag };
  serialised.set(asset, made);
  return made;
}

/**
 * Metadata may change (placeholders arrive after the upload, an asset may be deleted): caches keep
 * it but ask again each time, and a matching If-None-Match gets a 304 without the body.
 */
export const ASSET_CACHE_CONTROL = 'no-cache';

const error = { $ref: 'Error#' } as const;
/** Every status an upload can answer besides 201 (README: Errors), so generated clients know them all. */
const uploadErrors = { 400: error, 401: error, 403: error, 408: error, 409: error, 413: error, 422: error, 429: error, 503: error, 507: error } as const;

export const assetRoutes: FastifyPluginAsync<AssetRoutesOptions> = async (app, opts) => {
  app.post(
    '/assets',
    {
      schema: {
        summary: 'Upload one image or video',
        description:
          'multipart/form-data with exactly one file part (documented field name `Filename`). The type, size and checksum come from the bytes.',
        tags: ['assets'],
        consumes: ['multipart/form-data'],
        security: [{ bearer: [] }],
        response: { 201: { $ref: 'UploadResult#' }, ...uploadErrors },
      },
      onRequest: async (request) => {
        await opts.requireToken(request);
        checkIdempotencyKeyHeader(request);
      },
    },
    async (request, reply) => {
      opts.inFlight?.enter();
      try {
        const undo = new UndoList();
        let stored: { body: { id: string }; replayed: boolean };
        try {
          stored = await storeUpload(request, undo);
        } finally {
          // The temp file goes either way (on success its bytes are already linked into the store),
          // and before the answer: a client that got its 201 finds nothing of the upload left over.
          await undo.run((err) => request.log.warn({ err }, 'upload cleanup failed'));
        }
        reply.code(201).header('location', `/assets/${stored.body.id}`);
        if (stored.replayed) reply.header('idempotent-replayed', 'true');
        return reply.send(stored.body);
      } finally {
        opts.inFlight?.leave();
      }
    },
  );

  /** Receives, checks and commits one upload; what it made is undone by `undo` unless it succeeds. */
  async function storeUpload(request: FastifyRequest, undo: UndoList): Promise<{ body: { id: string }; replayed: boolean }> {
    const { received, filename } = await receiveSingleFile(request, opts.tempDir, opts.maxUploadBytes, undo);
    opts.countBytes?.(received.size);
    checkDigests(request.headers, received);
    const idem = await beginIdempotentUpload(opts.idempotency, opts.idempotencyTtlS ?? 86_400, request, received);
    if (idem.replay !== undefined) return { body: idem.replay as { id: string }, replayed: true };
    try {
      const asset = await opts.ingest.commit(received, filename);
      opts.placeholders?.enqueue(asset);
      const body = { ...toAssetJson(asset, opts.publicUrl()), success: true };
      await idem.finish(body);
      return { body, replayed: false };
    } catch (err) {
      await idem.abort().catch((e: unknown) => request.log.warn({ err: e }, 'idempotency key release failed'));
      throw err;
    }
  }

  app.get(
    '/assets/:assetId',
    {
      schema: {
        summary: "An asset's metadata",
        tags: ['assets'],
        params: Type.Object({ assetId: Type.String({ description: 'Asset id (a GUID)' }) }),
        response: {
          200: { $ref: 'Asset#' },
          304: { description: 'Not modified (If-None-Match matched the ETag)', type: 'null' },
          404: error,
          503: error,
        },
      },
    },
    async (request, reply) => {
      const { assetId } = request.params as { assetId: string };
      const asset = await findAsset(opts.repo, assetId);
      // Its placeholders may have been dropped from a full queue (or lost to a restart): ask again.
      opts.placeholders?.enqueue(asset);
      const body = serialisedAsset(asset, opts.publicUrl());
      reply.header('etag', body.etag).header('cache-control', ASSET_CACHE_CONTROL);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, body.etag)) return reply.code(304).send();
      return reply.type('application/json; charset=utf-8').send(body.json);
    },
  );
};
