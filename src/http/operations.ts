import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import type { OpsConfig } from '../config.js';
import { errors } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { FixedWindowLimiter } from '../ops/rate-limit.js';
import { principalOf } from './auth.js';

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

/** Checks the metrics token; compared as SHA-256 digests, so timing reveals nothing of it. */
function metricsTokenCheck(token: string): onRequestHookHandler {
  const expected = createHash('sha256').update(token).digest();
  return (request, _reply, done) => {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const ok = m?.[1] !== undefined && timingSafeEqual(createHash('sha256').update(m[1]).digest(), expected);
    done(ok ? undefined : errors.unauthorized(m ? 'The token is not the metrics token' : 'No metrics token was sent', 'the token set in AMS_METRICS_TOKEN'));
  };
}

/**
 * Upload rate limits: per client IP before authentication (so guessing tokens is throttled too),
 * then per principal once the token is known. Attached to the upload route only, so no other
 * request pays for them.
 */
export function registerUploadRateLimits(app: FastifyInstance, ops: OpsConfig): void {
  const perIp = new FixedWindowLimiter(ops.uploadRatePerIp, ops.rateWindowS * 1000);
  const perToken = new FixedWindowLimiter(ops.uploadRatePerToken, ops.rateWindowS * 1000);
  const byIp: onRequestHookHandler = (request, _reply, done) => {
    const wait = perIp.take(request.ip);
    done(wait === null ? undefined : errors.rateLimited(wait, 'IP address'));
  };
  const byToken: preHandlerHookHandler = (request, _reply, done) => {
    const wait = perToken.take(principalOf(request) ?? 'anonymous');
    done(wait === null ? undefined : errors.rateLimited(wait, 'token'));
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST') || route.url !== '/assets') return;
    // The IP check runs first: before the route's own onRequest (authentication).
    route.onRequest = [byIp, ...asArray(route.onRequest)];
    route.preHandler = [...asArray(route.preHandler), byToken];
  });
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
