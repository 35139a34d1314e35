import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import { errors } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { UploadLimiter } from '../ops/cluster-rate-limit.js';
import { bearerTokenOf, principalOf, tokenDigest } from './auth.js';

/** Request metrics and `/metrics` (Prometheus text), behind AMS_METRICS_TOKEN when it is set. */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, token: string | null, clusterText?: () => Promise<string>): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.http.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  const schema = {
    summary: 'Prometheus metrics of this process',
    tags: ['operations'],
    ...(token === null ? {} : { security: [{ bearer: [] }] }),
    response: {
      200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
      ...(token === null ? {} : { 401: { $ref: 'Error#' } }),
    },
  };
  app.get('/metrics', { schema, onRequest: token === null ? [] : [metricsTokenCheck(token)] }, async (_req, reply) => {
    const text = clusterText ? await clusterText() : await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}

/** Checks the metrics token, compared as digests like upload tokens (auth.ts). */
function metricsTokenCheck(token: string): onRequestHookHandler {
  const expected = tokenDigest(token);
  return (request, _reply, done) => {
    const sent = bearerTokenOf(request.headers.authorization ?? '');
    const ok = sent !== undefined && timingSafeEqual(tokenDigest(sent), expected);
    done(ok ? undefined : errors.unauthorized(sent ? 'The token is not the metrics token' : 'No metrics token was sent', 'the token set in AMS_METRICS_TOKEN'));
  };
}

/**
 * Upload rate limits: per client IP before authentication (so guessing tokens is throttled too),
 * then per principal once the token is known. Attached to the upload route only, so no other
 * request pays for them.
 */
export function registerUploadRateLimits(app: FastifyInstance, limiter: UploadLimiter): void {
  const byIp: onRequestHookHandler = (request, _reply, done) => answer(limiter.take('ip', request.ip), 'IP address', done);
  const byToken: preHandlerHookHandler = (request, _reply, done) => answer(limiter.take('token', principalOf(request) ?? 'anonymous'), 'token', done);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST') || route.url !== '/assets') return;
    // The IP check runs first: before the route's own onRequest (authentication).
    route.onRequest = [byIp, ...asArray(route.onRequest)];
    route.preHandler = [...asArray(route.preHandler), byToken];
  });
}

/** Ends a limit hook: through at once (a local count) or once the cluster primary has answered. */
function answer(wait: number | null | Promise<number | null>, what: string, done: (err?: Error) => void): void {
  if (wait instanceof Promise) wait.then((w) => answer(w, what, done), done);
  else done(wait === null ? undefined : errors.rateLimited(wait, what));
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
