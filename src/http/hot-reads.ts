import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { FileCache } from '../delivery/file-cache.js';
import { etagMatches, planDelivery } from '../delivery/plan.js';
import type { PlaceholderQueue } from '../ingest/placeholder-queue.js';
import type { MediaKind } from '../media/types.js';
import type { AssetRecord, AssetRepository } from '../meta/repository.js';
import type { RequestMetrics } from '../ops/request-metrics.js';
import { READ_CORS_HEADERS } from './cors.js';
import type { StoredDerivative } from './derivatives.js';
import { derivativeMetrics } from '../derivatives/metrics.js';
import { deliveryRequestOf } from './render-delivery.js';
import { requestIdOf, writeAccessLine } from './request-log.js';
import { ASSET_CACHE_CONTROL, serialisedAsset, type AssetBody } from './routes/assets.js';
import { representationOf } from './routes/files.js';

/**
 * The reads a storefront makes all day, answered before Fastify's router when the answer is
 * already in memory: an asset's JSON (`GET /assets/{id}`, its row in the row cache), a small file
 * (`GET /images/{id}.{ext}`, its bytes in the file cache too) and a derivative's or poster's
 * canonical URL (`/images/{id}.webp?width=320`, `/videos/{id}/poster.jpg`) once the route has
 * served it from the store — the URL, exactly as asked, then names a known stored blob.
 *
 * Why: on these requests Fastify's per-request machinery (request and reply objects, four hook
 * runs, the async handler, the send pipeline) cost more than everything AMS itself does. Answered
 * here, a cached `GET /assets/{id}` took 25 µs of CPU instead of 35 (bench: W2 "server CPU
 * µs/request"; a bare Fastify route takes 20).
 *
 * Nothing is decided here that the routes do not decide the same way: the JSON is the route's
 * memoised string, a file's status and headers come from the same pure `planDelivery`, the
 * request id, CORS headers, metrics and access line are the shared ones. Only plain requests are
 * taken: GET, no body, not pipelined behind another response, an exact lower-case path without a
 * query (or a known derivative URL), a 200 or a 304. Everything else — a cache miss, HEAD,
 * Range, If-None-Match on a derivative, an unknown id, a server shutting down — goes to Fastify.
 * test/integration/hot-reads.test.ts compares every answer given here with the route's own.
 */
export interface HotReadsOptions {
  repo: AssetRepository;
  files: FileCache;
  publicUrl: () => string;
  placeholders?: PlaceholderQueue;
  /** Stored derivatives by the canonical URL they were last served at (derivatives.ts). */
  derivativeAt?: (url: string) => StoredDerivative | undefined;
  metrics: RequestMetrics;
  log: FastifyBaseLogger;
  /** True once the server is closing: then Fastify answers (503 SHUTTING_DOWN). */
  closing: () => boolean;
}

interface Answer {
  route: string;
  status: number;
  headers: readonly string[];
  body: string | Buffer | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The headers of an asset's JSON (200) and of its 304, made once per memoised body (like `flat`). */
const jsonHeaderLists = new WeakMap<AssetBody, { ok: readonly string[]; notModified: readonly string[] }>();
function jsonHeaders(body: AssetBody): { ok: readonly string[]; notModified: readonly string[] } {
  let lists = jsonHeaderLists.get(body);
  if (lists === undefined) {
    const notModified = ['etag', body.etag, 'cache-control', ASSET_CACHE_CONTROL];
    lists = { ok: [...notModified, 'content-type', 'application/json; charset=utf-8', 'content-length', String(body.bytes)], notModified };
    jsonHeaderLists.set(body, lists);
  }
  return lists;
}
const FILE_ROUTES: Record<string, { kind: MediaKind; route: string } | undefined> = {
  '/images/': { kind: 'image', route: '/images/:file' },
  '/videos/': { kind: 'video', route: '/videos/:file' },
};

/** A plan's frozen header object as a flat [name, value, …] list, made once per object. */
const flatHeaders = new WeakMap<Readonly<Record<string, string>>, readonly string[]>();
function flat(headers: Readonly<Record<string, string>>): readonly string[] {
  let list = flatHeaders.get(headers);
  if (list === undefined) {
    list = Object.entries(headers).flat();
    flatHeaders.set(headers, list);
  }
  return list;
}

/** Returns the server's answerer: true when it answered the request, false to hand it to Fastify. */
export function createHotReads(opts: HotReadsOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const cachedRow = (id: string): AssetRecord | undefined => (UUID.test(id) ? opts.repo.cached?.(id) : undefined);

  function assetJson(req: IncomingMessage, url: string): Answer | undefined {
    const asset = cachedRow(url.slice('/assets/'.length));
    if (asset === undefined) return undefined;
    // As the route does: placeholders dropped from a full queue (or lost to a restart) are asked again.
    opts.placeholders?.enqueue(asset);
    const body = serialisedAsset(asset, opts.publicUrl());
    const headers = jsonHeaders(body);
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, body.etag)) return { route: '/assets/:assetId', status: 304, headers: headers.notModified, body: undefined };
    return { route: '/assets/:assetId', status: 200, headers: headers.ok, body: body.json };
  }

  function file(req: IncomingMessage, url: string): Answer | undefined {
    const files = FILE_ROUTES[url.slice(0, 8)];
    const dot = url.indexOf('.', 8);
    if (files === undefined || dot === -1) return undefined;
    const asset = cachedRow(url.slice(8, dot));
    if (asset === undefined || asset.kind !== files.kind || url.slice(dot + 1) !== asset.ext) return undefined;
    const plan = planDelivery(representationOf(asset), deliveryRequestOf('GET', req.headers));
    if (plan.status === 304) return { route: files.route, status: 304, headers: flat(plan.headers), body: undefined };
    if (plan.status !== 200) return undefined;
    const bytes = opts.files.cached(asset.blobKey, asset.sizeBytes);
    return bytes === undefined ? undefined : { route: files.route, status: 200, headers: flat(plan.headers), body: bytes };
  }

  /** A derivative's canonical URL, served before: known to be stored, and its bytes maybe in memory. */
  function derivative(req: IncomingMessage, url: string): Answer | undefined {
    const known = opts.derivativeAt?.(url);
    // The route answers If-None-Match itself, before planning, with fewer headers: left to it.
    if (known === undefined || req.headers['if-none-match'] !== undefined || cachedRow(known.assetId) === undefined) return undefined;
    const plan = planDelivery(known.rep, deliveryRequestOf('GET', req.headers));
    const bytes = plan.status === 200 ? opts.files.cached(known.key, known.rep.size) : undefined;
    if (plan.status !== 304 && bytes === undefined) return undefined;
    derivativeMetrics.hits.inc();
    return { route: known.route, status: plan.status, headers: flat(plan.headers), body: bytes };
  }

  return (req, res) => {
    const url = req.url ?? '';
    if (req.method !== 'GET' || url.length < 9 || url.length > 1024 || res.socket === null || opts.closing()) return false;
    const length = req.headers['content-length'];
    if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) return false;
    const start = performance.now();
    const answer = url.includes('?') || url.includes('/poster.') ? derivative(req, url) : url.startsWith('/assets/') ? assetJson(req, url) : file(req, url);
    if (answer === undefined) return false;
    const reqId = requestIdOf(req);
    res.writeHead(answer.status, ['x-request-id', reqId, ...READ_CORS_HEADERS, ...answer.headers]);
    res.end(answer.body);
    const ms = performance.now() - start;
    opts.metrics.observe('GET', answer.route, answer.status, ms / 1000);
    writeAccessLine(opts.log, reqId, 'GET', url, answer.status, Math.round(ms));
    return true;
  };
}

/**
 * Puts `answer` in front of the server's one request listener (Fastify's), which gets what it
 * declines. A throw in `answer` must not escape the listener (it would crash the process): before
 * anything was sent Fastify answers instead; after, the connection is closed.
 */
export function answerFirst(server: Server, answer: (req: IncomingMessage, res: ServerResponse) => boolean, log: FastifyBaseLogger): void {
  const listeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  const fastify = listeners[0];
  if (fastify === undefined || listeners.length !== 1) throw new Error(`expected Fastify as the only request listener, found ${listeners.length}`);
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (answer(req, res)) return;
    } catch (err) {
      log.error({ err, url: req.url }, 'hot read failed');
      if (res.headersSent) return void res.destroy();
    }
    fastify.call(server, req, res);
  });
}
