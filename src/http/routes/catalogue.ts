import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { errors } from '../../errors.js';
import type { AssetRecord, AssetRepository } from '../../meta/repository.js';
import { AssetSchema, toAssetJson } from '../asset-json.js';

export interface CatalogueRoutesOptions {
  repo: AssetRepository;
  publicUrl: () => string;
  requireToken: (request: FastifyRequest) => void;
}

export const LIST_DEFAULT_LIMIT = 24;
export const LIST_MAX_LIMIT = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The published asset object plus what a catalogue view needs to sort, badge and filter. */
const ListItemSchema = Type.Object({
  ...AssetSchema.properties,
  kind: Type.Union([Type.Literal('image'), Type.Literal('video')]),
  createdAt: Type.String({ format: 'date-time', description: 'When it was uploaded (UTC).' }),
  sizeBytes: Type.Integer({ description: 'Size of the stored file in bytes.' }),
  durationMs: Type.Union([Type.Integer(), Type.Null()], { description: 'Video duration in ms; null for images.' }),
});

const PageSchema = Type.Object(
  {
    items: Type.Array(ListItemSchema),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last.' }),
  },
  { description: 'One page of assets, newest first' },
);

const ListQuerySchema = Type.Object({
  // Descriptions are the OpenAPI text and also the "what to send" of a refused value (error-handler.ts).
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: LIST_MAX_LIMIT,
      default: LIST_DEFAULT_LIMIT,
      description: `Page size: a whole number from 1 to ${LIST_MAX_LIMIT} (default ${LIST_DEFAULT_LIMIT}).`,
    }),
  ),
  // No maxLength: decodeCursor refuses what this server did not hand out, long ones included, as BAD_CURSOR.
  cursor: Type.Optional(Type.String({ description: 'Opaque: the `nextCursor` of the previous page.' })),
  kind: Type.Optional(Type.Union([Type.Literal('image'), Type.Literal('video')], { description: 'Only one kind of asset: image or video.' })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive part of the name, at most 200 characters.' })),
});

function toListItem(asset: AssetRecord, publicUrl: string): Static<typeof ListItemSchema> {
  return {
    ...toAssetJson(asset, publicUrl),
    kind: asset.kind,
    createdAt: asset.createdAt.toISOString(),
    sizeBytes: asset.sizeBytes,
    durationMs: asset.durationMs,
  };
}

const error = { $ref: 'Error#' } as const;
/**
 * What a token-checked route answers besides its own statuses: 401 (no or bad token), 403 (a JWT
 * without AMS_JWT_SCOPE), 503 (the database, or a JWT's key set, cannot be reached).
 */
const tokenErrors = { 401: error, 403: error, 503: error } as const;

/** Browsing and removing assets: what the console (and any catalogue tool) needs. Both need a token. */
export const catalogueRoutes: FastifyPluginAsync<CatalogueRoutesOptions> = async (app, opts) => {
  const onRequest = async (request: FastifyRequest) => opts.requireToken(request);

  app.get(
    '/assets',
    {
      schema: {
        summary: 'List assets, newest first',
        description: 'Paged with an opaque cursor; filter by `kind` and by part of the name (`q`).',
        tags: ['assets'],
        security: [{ bearer: [] }],
        querystring: ListQuerySchema,
        response: { 200: PageSchema, ...tokenErrors, 400: error },
      },
      onRequest,
    },
    async (request) => {
      const query = request.query as Static<typeof ListQuerySchema>;
      const page = await opts.repo.list({
        limit: query.limit ?? LIST_DEFAULT_LIMIT,
        ...(query.cursor !== undefined && { cursor: query.cursor }),
        ...(query.kind !== undefined && { kind: query.kind }),
        ...(query.q !== undefined && query.q.trim() !== '' && { q: query.q.trim() }),
      });
      const base = opts.publicUrl();
      return { items: page.items.map((a) => toListItem(a, base)), nextCursor: page.nextCursor };
    },
  );

  app.delete(
    '/assets/:assetId',
    {
      schema: {
        summary: 'Delete an asset',
        description:
          'Removes the asset at once (its id then answers 404). The stored bytes and their derivatives are removed later by `ams gc`, ' +
          'once no asset references the same content: an upload of the same bytes racing this delete can never lose its file.',
        tags: ['assets'],
        security: [{ bearer: [] }],
        params: Type.Object({ assetId: Type.String({ description: 'Asset id (a GUID)' }) }),
        response: { 204: { description: 'Deleted', type: 'null' }, ...tokenErrors, 404: error },
      },
      onRequest,
    },
    async (request, reply) => {
      const { assetId } = request.params as { assetId: string };
      const deleted = UUID.test(assetId) && (await opts.repo.delete(assetId.toLowerCase()));
      if (!deleted) throw errors.notFound();
      return reply.code(204).send();
    },
  );
};
