/**
 * Video posters: `/videos/{id}/poster?…` answers 303 to the canonical poster URL
 * `/videos/{id}/poster.{ext}[?time=…&width=…]`, which serves a frame of the video, resized and
 * encoded like an image derivative, computed once and cached.
 *
 * A sub-resource of the video rather than `/images/{id}?…` applied to a video id: the published
 * contract has `/images/{id}` of a video answer 400 WRONG_ASSET_TYPE, and `/videos/{id}` ignores
 * its query string (clients add cache-busters); a poster path changes neither, is plain to read in
 * a storefront's `<video poster=…>`, and its URL says what it is (as Immich's `/thumbnail`).
 */
import os from 'node:os';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../../config.js';
import { errors } from '../../errors.js';
import { FrameExtractor } from '../../media/ffmpeg.js';
import type { AssetRepository } from '../../meta/repository.js';
import { DerivativeQuerySchema } from '../derivative-query.js';
import type { DerivativeHandlers } from '../derivatives.js';
import { findAsset } from './assets.js';

export interface PosterRoutesOptions {
  repo: AssetRepository;
  derivatives: DerivativeHandlers;
}

const PosterQuerySchema = Type.Object(
  {
    ...DerivativeQuerySchema.properties,
    time: Type.Optional(
      Type.String({
        description:
          'Seconds into the video (0 to 86400, up to 3 decimals), clamped to its duration. Default: 10% of the duration for videos of 2 s or more, else the first frame. Past the last frame: the first frame.',
      }),
    ),
  },
  { description: 'The image derivative parameters, plus `time`.' },
);

const RESPONSES = {
  400: { $ref: 'Error#' },
  403: { $ref: 'Error#' }, // SIGNATURE_INVALID, with AMS_SIGNING_KEYS
  404: { $ref: 'Error#' },
  422: { $ref: 'Error#' },
  501: { $ref: 'Error#' },
  503: { $ref: 'Error#' },
} as const;

/**
 * The ffmpeg behind posters, checked in the background as the app starts: one warning when it
 * cannot run (the service works on without posters), and every child killed when the app closes.
 */
export function startFrameExtractor(app: FastifyInstance, config: Readonly<Config>): FrameExtractor {
  const d = config.derivatives;
  const frames = new FrameExtractor({
    ffmpegPath: d.ffmpegPath,
    timeoutMs: d.timeoutMs,
    // Each ffmpeg decodes on one thread; half the transform slots leaves the rest to sharp.
    concurrency: Math.max(1, Math.min(d.concurrency, Math.ceil(os.availableParallelism() / 2))),
    queueLimit: d.queueLimit,
    // A PNG of RGB pixels is at most ~3 bytes a pixel, plus its framing.
    maxFrameBytes: config.maxPixels * 3 + 1024 * 1024,
  });
  void frames.status.then((s) => {
    if (s.usable) app.log.debug({ ffmpeg: s.version }, 'video posters enabled');
    else app.log.warn({ ffmpegPath: d.ffmpegPath, reason: s.reason }, 'ffmpeg cannot run: video posters answer 501 until AMS_FFMPEG_PATH names a working ffmpeg');
  });
  app.addHook('onClose', async () => frames.close());
  return frames;
}

async function findVideo(repo: AssetRepository, id: string) {
  const asset = await findAsset(repo, id);
  if (asset.kind !== 'video') throw errors.wrongType();
  return asset;
}

export const posterRoutes: FastifyPluginAsync<PosterRoutesOptions> = async (app, opts) => {
  // HEAD is declared, not derived: Fastify's derived HEAD would replace our Content-Length with 0.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/videos/:id/poster',
    schema: {
      summary: 'A poster image of a video: redirects (303) to the canonical poster URL',
      description:
        '`/videos/{id}/poster?width=…&height=…&fit=…&format=…&quality=…&dpr=…&preset=…&time=…` answers 303 to `/videos/{id}/poster.{ext}[?time=…&width=…&height=…&fit=…&quality=…&enlarge=true][&sig=…]` (fixed order, defaults left out). The format defaults to JPEG; `format=auto` negotiates AVIF/WebP from Accept. Needs ffmpeg on the server (AMS_FFMPEG_PATH): without it, 501 FFMPEG_UNAVAILABLE.',
      tags: ['files'],
      params: Type.Object({ id: Type.String({ description: 'Video asset id' }) }),
      querystring: PosterQuerySchema,
      response: { 303: { description: 'Redirect to the canonical poster URL', type: 'null' }, ...RESPONSES },
    },
    handler: async (request, reply) => {
      const asset = await findVideo(opts.repo, (request.params as { id: string }).id);
      return opts.derivatives.redirect(request, reply, asset);
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/videos/:id/poster.:ext',
    schema: {
      summary: 'A poster image of a video, in the format its extension names (jpg, png, webp, avif)',
      description:
        'A frame of the video (rotation applied), computed once, cached, and served like an original: strong ETag, immutable caching, Range (206/416), If-None-Match / If-Modified-Since (304), If-Match / If-Unmodified-Since (412), HEAD. A non-canonical query is redirected (303) to the canonical one. An undecodable video: 422 POSTER_FAILED, nothing cached.',
      tags: ['files'],
      params: Type.Object({ id: Type.String({ description: 'Video asset id' }), ext: Type.String({ description: 'jpg, png, webp or avif' }) }),
      querystring: PosterQuerySchema,
      response: {
        200: { description: 'The poster', type: 'string', format: 'binary' },
        206: { description: 'Part of the poster (Range)', type: 'string', format: 'binary' },
        303: { description: 'Redirect to the canonical poster URL', type: 'null' },
        304: { description: 'Not modified (If-None-Match, If-Modified-Since)', type: 'null' },
        412: { $ref: 'Error#' },
        416: { $ref: 'Error#' },
        ...RESPONSES,
      },
    },
    handler: async (request, reply) => {
      const { id, ext } = request.params as { id: string; ext: string };
      const asset = await findVideo(opts.repo, id);
      return opts.derivatives.file(request, reply, asset, ext.toLowerCase());
    },
  });
};
