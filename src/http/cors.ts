import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import { pathOf } from './wrong-method.js';

/**
 * CORS, with one policy per kind of request: reads (GET, HEAD) are open to every origin with
 * static headers; writes (POST, DELETE) only from AMS_CORS_UPLOAD_ORIGINS. Preflights are answered
 * in the onRequest hook, before authentication (a browser's preflight carries no token).
 *
 * Written here rather than with @fastify/cors: its per-request options delegator (the only way to
 * vary the policy by method) normalised a fresh options object on every request — ~6 % of the CPU
 * of GET /assets/{id} under load (W2 profile) — and added `Vary: Origin` to immutable responses
 * whose headers never depend on the origin.
 */
const READ_EXPOSED = 'x-request-id, etag, content-range, content-length';
/** The CORS headers of every GET and HEAD (also written by hot-reads.ts). */
export const READ_CORS_HEADERS = ['access-control-allow-origin', '*', 'access-control-expose-headers', READ_EXPOSED] as const;
const WRITE_METHODS = 'GET, HEAD, POST, DELETE';
const WRITE_HEADERS = 'authorization, content-type, idempotency-key, content-md5, repr-digest, content-digest, x-request-id';
const WRITE_EXPOSED = 'x-request-id, location, retry-after, idempotent-replayed';
const PREFLIGHT_MAX_AGE = '600';

/** `allowedOn`: the methods a path is served with (wrong-method.ts), for `Allow` on a plain OPTIONS. */
export function registerCors(app: FastifyInstance, uploadOrigins: readonly string[], allowedOn: (path: string) => string[]): void {
  const writers = new Set(uploadOrigins);
  app.addHook('onRequest', (request, reply, done) => {
    const { method, headers } = request;
    if (method === 'GET' || method === 'HEAD') {
      reply.header(READ_CORS_HEADERS[0], READ_CORS_HEADERS[1]).header(READ_CORS_HEADERS[2], READ_CORS_HEADERS[3]);
      return done();
    }
    const origin = headers.origin;
    if (origin === undefined) return done();
    const wanted = headers['access-control-request-method'];
    if (method !== 'OPTIONS' || wanted === undefined) {
      // An actual cross-origin write: the browser shows the response only to an allowed origin.
      if (writers.has(origin)) {
        reply.header('access-control-allow-origin', origin).header('vary', 'origin').header('access-control-expose-headers', WRITE_EXPOSED);
      }
      return done();
    }
    if (wanted === 'GET' || wanted === 'HEAD') {
      const asked = headers['access-control-request-headers'];
      reply
        .code(204)
        .header('access-control-allow-origin', '*')
        .header('access-control-allow-methods', 'GET, HEAD')
        .header('access-control-max-age', PREFLIGHT_MAX_AGE)
        .header('vary', 'access-control-request-headers');
      if (asked !== undefined) reply.header('access-control-allow-headers', asked);
      return reply.send();
    }
    if (!writers.has(origin)) return done(errors.corsOriginNotAllowed(origin));
    reply
      .code(204)
      .header('access-control-allow-origin', origin)
      .header('vary', 'origin')
      .header('access-control-allow-methods', WRITE_METHODS)
      .header('access-control-allow-headers', WRITE_HEADERS)
      .header('access-control-max-age', PREFLIGHT_MAX_AGE);
    return reply.send();
  });
  // Gives preflights a route to match (they are answered by the hook above). Any other OPTIONS asks
  // what a path supports (RFC 9110 §9.3.7): 204 with Allow for a path the service knows, else 404.
  app.options('*', { schema: { hide: true } }, async (request, reply) => {
    const path = pathOf(request.url);
    const allowed = allowedOn(path);
    if (allowed.length === 0) throw errors.routeNotFound(request.method, path);
    return reply.code(204).header('allow', [...allowed, 'OPTIONS'].join(', ')).send();
  });
}
