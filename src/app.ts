import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { BlobStore } from './blob/store.js';
import type { Config } from './config.js';
import { errors } from './errors.js';
import { AssetSchema, ErrorSchema, UploadResultSchema } from './http/asset-json.js';
import { createTokenCheck } from './http/auth.js';
import { answerUnsupportedExpectation, handleClientError } from './http/client-errors.js';
import { createErrorHandler, renderRouterError } from './http/error-handler.js';
import { assetRoutes } from './http/routes/assets.js';
import { catalogueRoutes } from './http/routes/catalogue.js';
import { consoleRoutes } from './http/routes/console.js';
import { fileRoutes } from './http/routes/files.js';
import { healthRoutes } from './http/routes/health.js';
import { posterRoutes, startFrameExtractor } from './http/routes/posters.js';
import { enforceRequestDeadline } from './http/request-deadline.js';
import { AssetIngest } from './ingest/ingest.js';
import { FileCache } from './delivery/file-cache.js';
import { PlaceholderQueue } from './ingest/placeholder-queue.js';
import { DerivativeService } from './derivatives/service.js';
import { createDerivativeHandlers } from './http/derivatives.js';
import { ImageTransformer } from './media/transform.js';
import type { MediaProbe } from './media/probe.js';
import type { AssetRepository } from './meta/repository.js';
import type { IdempotencyStore } from './meta/idempotency.js';
import { createJwtVerifier } from './http/jwt.js';
import { registerCors } from './http/cors.js';
import { OneLinePerRequest, lazyChildLogger, requestIdOf } from './http/request-log.js';
import { openApiDocument } from './http/openapi.js';
import { answerWrongMethods } from './http/wrong-method.js';
import { answerFirst, createHotReads } from './http/hot-reads.js';
import { registerMetrics, registerUploadRateLimits } from './http/operations.js';
import { InFlight } from './ops/in-flight.js';
import { localUploadLimiter, type UploadLimiter } from './ops/cluster-rate-limit.js';
import { createMetrics, type Metrics } from './ops/metrics.js';

export interface AppDeps {
  config: Readonly<Config>;
  /** Upload tokens in force (configured, or the one generated into the data directory). */
  tokens: readonly string[];
  blobs: BlobStore;
  repo: AssetRepository;
  probe: MediaProbe;
  /** Where uploads are received; must be on the blob store's filesystem for the fs backend. */
  tempDir: string;
  logger?: FastifyServerOptions['logger'];
  /** Idempotency-Key storage; without it the header is ignored. */
  idempotency?: IdempotencyStore;
  /** Shared with the server so shutdown can wait for uploads to finish. */
  inFlight?: InFlight;
  metrics?: Metrics;
  /** Set in cluster workers: /metrics then reports every worker, summed. */
  clusterMetrics?: (registry: Metrics['registry']) => () => Promise<string>;
  databaseProbe?: () => Promise<void>;
  /** Upload rate limits; cluster workers share the primary's counts. Default: counted in this process. */
  uploadLimiter?: UploadLimiter;
}

/** Builds the service as a Fastify instance. Reads no environment: everything comes in `deps`. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    logger: deps.logger ?? { level: config.logLevel },
    logController: new OneLinePerRequest(),
    childLoggerFactory: lazyChildLogger,
    requestIdHeader: false,
    genReqId: requestIdOf,
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.idleTimeoutMs,
    keepAliveTimeout: 5000,
    bodyLimit: 1024 * 1024,
    return503OnClosing: false, // answered by our onRequest hook below
    frameworkErrors: renderRouterError,
    clientErrorHandler: handleClientError,
  });

  app.server.on('checkExpectation', answerUnsupportedExpectation);
  // A client that half-closes once its request is sent (shutdown(SHUT_WR), `nc -N`, some proxies)
  // still gets its answer: by default Node aborts the request on the FIN and ends the socket, so an
  // upload could be stored with its 201 never sent. Timeouts still bound such connections.
  (app.server as typeof app.server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  // While closing, new requests (on connections that were busy when close began) get a 503 in the
  // catalogue's shape with Retry-After; Fastify's own 503 (return503OnClosing) had neither a code
  // nor Retry-After. Fastify still adds `Connection: close` to them. Requests already being
  // handled, uploads above all, run to the end (src/ops/shutdown.ts).
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done(closing ? errors.shuttingDown() : undefined);
  });
  enforceRequestDeadline(app, config.requestTimeoutMs);
  // Without AMS_PUBLIC_URL the base is this server's own port, known once it listens (it may be 0 = any).
  let publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  app.addHook('onListen', async () => {
    const address = app.server.address();
    if (config.publicUrl === null && address !== null && typeof address !== 'string') {
      publicUrl = `http://localhost:${address.port}`;
    }
  });
  const currentPublicUrl = () => publicUrl;

  app.setErrorHandler(createErrorHandler(config.maxUploadBytes));
  const allowedOn = answerWrongMethods(app); // 404, or 405 + Allow for a known path (before any route)

  const inFlight = deps.inFlight ?? new InFlight();
  const metrics = deps.metrics ?? createMetrics(() => inFlight.size);
  registerCors(app, config.ops.corsUploadOrigins, allowedOn);
  registerUploadRateLimits(app, deps.uploadLimiter ?? localUploadLimiter(config.ops));

  // No route here takes a JSON or text body: uploads are multipart, everything else has no body.
  // Fastify's default parsers still read and judge such bodies first, so a DELETE from a client
  // that labels every request application/json failed with "Ensure file was attached to request",
  // and a 2 MB JSON POST /assets got a 413 naming the 2 GiB upload limit. Any body that is not
  // multipart is left unread instead: DELETE ignores it (Node discards it after the answer), and
  // POST /assets refuses it as NO_FILE and closes the connection without reading it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  await app.register(multipart, {
    limits: {
      fileSize: config.maxUploadBytes,
      files: 1,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: 40,
      headerPairs: 100,
    },
  });
  await app.register(swagger, {
    openapi: openApiDocument(config.publicUrl),
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (json.$id as string) ?? `def-${i}` },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  for (const schema of [AssetSchema, UploadResultSchema, ErrorSchema]) app.addSchema(schema);

  app.get('/openapi.json', { schema: { summary: 'This OpenAPI document', tags: ['operations'], response: { 200: { description: 'OpenAPI 3.0 document', type: 'object', additionalProperties: true } } } }, async () => app.swagger());
  // After swagger, which documents only the routes added after it.
  registerMetrics(app, metrics, config.ops.metricsToken, deps.clusterMetrics?.(metrics.registry));
  await app.register(healthRoutes, { repo: deps.repo, blobs: deps.blobs, tempDir: deps.tempDir, minFreeTempBytes: 64 * 1024 * 1024, databaseProbe: deps.databaseProbe });

  const requireToken = createTokenCheck(deps.tokens, await createJwtVerifier(config.ops.jwt));
  const ingest = new AssetIngest({
    blobs: deps.blobs,
    repo: deps.repo,
    probe: deps.probe,
    observe: (stage, seconds) => metrics.uploadStageSeconds.observe({ stage }, seconds),
  });
  const placeholders = new PlaceholderQueue({
    blobs: deps.blobs,
    repo: deps.repo,
    inFlight,
    onError: (err, assetId) => app.log.warn({ err, assetId }, 'placeholders not made'),
  });
  app.addHook('onClose', async () => placeholders.close());
  await app.register(assetRoutes, {
    repo: deps.repo,
    ingest,
    publicUrl: currentPublicUrl,
    tempDir: deps.tempDir,
    maxUploadBytes: config.maxUploadBytes,
    requireToken,
    idempotency: deps.idempotency,
    idempotencyTtlS: config.ops.idempotencyTtlS,
    inFlight,
    countBytes: (n: number) => metrics.uploadBytes.inc(n),
    placeholders,
  });
  const files = new FileCache(deps.blobs, { maxBytes: config.cache.fileBytes, maxFileBytes: config.cache.maxFileBytes });
  const d = config.derivatives;
  const transformer = new ImageTransformer({ ...d, maxPixels: config.maxPixels });
  const frames = startFrameExtractor(app, config); // video posters (src/http/routes/posters.ts)
  const derivatives = createDerivativeHandlers({
    service: new DerivativeService(deps.blobs, transformer, { frames, tempDir: deps.tempDir }),
    files,
    rules: { presets: d.presets, maxDimension: d.maxDimension },
    signingKeys: d.signingKeys,
    presetsOnly: d.presetsOnly,
    publicUrl: currentPublicUrl,
  });
  // Derivatives are stored write-behind: let the last ones land before the backends close.
  app.addHook('onClose', async () => derivatives.drain());
  await app.register(fileRoutes, {
    repo: deps.repo,
    blobs: deps.blobs,
    files,
    publicUrl: currentPublicUrl,
    directUrlTtlSeconds: config.storage.kind === 's3' ? config.storage.presignTtlSeconds : undefined,
    derivatives,
  });
  await app.register(posterRoutes, { repo: deps.repo, derivatives });
  await app.register(catalogueRoutes, { repo: deps.repo, publicUrl: currentPublicUrl, requireToken });
  await app.register(consoleRoutes);
  if (config.cache.hotReads) {
    const hot = createHotReads({
      repo: deps.repo,
      files,
      publicUrl: currentPublicUrl,
      placeholders,
      derivativeAt: derivatives.servedAt,
      metrics: metrics.http,
      log: app.log,
      closing: () => closing,
    });
    answerFirst(app.server, hot, app.log);
  }
  return app;
}
