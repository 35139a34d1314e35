import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { FileCache } from '../delivery/file-cache.js';
import type { DeliveryPlan, DeliveryRequest } from '../delivery/plan.js';
import { errors } from '../errors.js';

/** What of a request the delivery plan depends on. */
export function deliveryRequestOf(method: string, h: IncomingHttpHeaders): DeliveryRequest {
  return {
    method,
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
  // A pipelined request's file is opened only once its turn on the connection has come.
  if (reply.raw.socket === null && !(await turnOnConnection(reply))) return;
  return reply.send(await files.open(key, size, plan.range));
}

/**
 * For a response without a socket yet: resolves true once it is the one its connection is
 * sending, false if the connection dies first. Node answers pipelined requests in order: a later
 * response waits in a queue, without a socket, until the ones before it are sent. A file opened
 * for it there held a descriptor and a 256 KiB read buffer for nothing: one connection carrying
 * 66 KB of pipelined GETs (~900) that it never read made the server open 900 descriptors and grow
 * by 480 MB until the idle timeout. Worse, Node 20 never closes a queued response when its
 * connection dies (newer Node does: nodejs/node#62534), so Fastify never destroyed those streams
 * and the files stayed open for good. The request, though, is destroyed with its connection: its
 * 'close' is the signal that the turn will never come. (A connection that dies after the turn
 * came closes the response itself, and Fastify then destroys the stream.)
 */
function turnOnConnection(reply: FastifyReply): Promise<boolean> {
  const response = reply.raw;
  const request = reply.request.raw;
  if (request.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const turn = () => {
      request.off('close', gone);
      resolve(true);
    };
    const gone = () => {
      response.off('socket', turn);
      resolve(false);
    };
    response.once('socket', turn);
    request.once('close', gone);
  });
}
