import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { errors } from '../../errors.js';
import type { AssetIngest } from '../../ingest/ingest.js';
import { UndoList } from '../../ingest/undo.js';
import type { AssetRecord, AssetRepository } from '../../meta/repository.js';
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
 * The JSON of an asset and its length in bytes, made once per cached row object (and base URL):
 * the hottest read of a storefront. Fastify sends a string typed application/json as it is; the
 * schema still documents it.
 */
const serialised = new WeakMap<AssetRecord, { base: string; json: string; bytes: number }>();
export function serialisedAsset(asset: AssetRecord, base: string): { json: string; bytes: number } {
  const hit = serialised.get(asset);
  if (hit !== undefined && hit.base === base) return hit;
  const json = JSON.stringify(toAssetJson(asset, base));
  const made = { base, json, bytes: Buffer.byteLength(json) };
  serialised.set(asset, made);
  return made;
}

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
        response: { 200: { $ref: 'Asset#' }, 404: error, 503: error },
      },
    },
    async (request, reply) => {
      const { assetId } = request.params as { assetId: string };
      const asset = await findAsset(opts.repo, assetId);
      // Its placeholders may have been dropped from a full queue (or lost to a restart): ask again.
      opts.placeholders?.enqueue(asset);
      return reply.type('application/json; charset=utf-8').send(serialisedAsset(asset, opts.publicUrl()).json);
    },
  );
};
