import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FileCache } from '../delivery/file-cache.js';
import type { DeliveryPlan, DeliveryRequest } from '../delivery/plan.js';
import { errors } from '../errors.js';

/** What of a request the delivery plan depends on. */
export function deliveryRequestOf(request: FastifyRequest): DeliveryRequest {
  const h = request.headers;
  return {
    method: request.method,
    range: h.range,
    ifMatch: h['if-match'],
    ifUnmodifiedSince: h['if-unmodified-since'],
    ifNoneMatch: h['if-none-match'],
    ifModifiedSince: h['if-modified-since'],
    ifRange: h['if-range'] as string | undefined,
  };
}

/**
 * Turns a delivery plan into a reply; the only place that opens a stored file. `bytes`: the file's
 * bytes when the caller already holds them (a derivative just made, maybe not yet in the store).
 */
export async function renderDelivery(reply: FastifyReply, plan: DeliveryPlan, files: FileCache, key: string, size: number, bytes?: Buffer) {
  if (plan.status === 416) throw errors.rangeNotSatisfiable(plan.size);
  if (plan.status === 412) throw errors.preconditionFailed(plan.headers.etag ?? '');
  reply.code(plan.status).headers(plan.headers);
  if (plan.status === 304 || !plan.body) return reply.send();
  if (bytes !== undefined) return reply.send(plan.range === null ? bytes : bytes.subarray(plan.range.start, plan.range.end + 1));
  const body = await files.open(key, size, plan.range);
  if (!Buffer.isBuffer(body)) closeWithConnection(reply, body);
  return reply.send(body);
}

/**
 * Fastify destroys a stream body when its response closes, but Node 20 never closes a response
 * still queued behind another on a pipelined connection when that connection dies (fixed upstream
 * in nodejs/node#62534): the file stayed open for as long as the process ran (50 stalled
 * connections of 8 pipelined GETs left 300 descriptors open). The request, though, is destroyed
 * with its connection: its 'close' before the response has finished means nobody will read this.
 */
function closeWithConnection(reply: FastifyReply, body: Readable): void {
  const request = reply.request.raw;
  const gone = () => {
    if (!reply.raw.writableFinished && request.socket.destroyed) body.destroy();
  };
  // The connection may have died while the file was being opened.
  if (request.destroyed) gone();
  else request.once('close', gone);
}
