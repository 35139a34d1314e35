import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import { writeRawError } from './client-errors.js';

/**
 * Enforces AMS_REQUEST_TIMEOUT_MS on request bodies ourselves. Node's own `requestTimeout` did not
 * cut a body trickled a byte a second (measured: still open after 70 s with a 3 s limit), and the
 * idle timeout never fires while a byte keeps arriving, so a slow-loris upload could hold a temp
 * file and a connection forever. When the deadline passes with the body still incomplete, the
 * client gets a 408 (if nothing was sent yet) and the socket is destroyed; the aborted stream
 * makes the upload pipeline remove its temp file.
 */
export function enforceRequestDeadline(app: FastifyInstance, ms: number): void {
  if (ms <= 0) return;
  app.addHook('onRequest', (request, reply, done) => {
    watchBody(request, reply);
    done();
  });

  function watchBody(request: FastifyRequest, reply: FastifyReply): void {
    const raw = request.raw;
    // Only requests that carry a body can trickle; GETs cost nothing here.
    const hasBody = (raw.headers['content-length'] !== undefined && raw.headers['content-length'] !== '0') || raw.headers['transfer-encoding'] !== undefined;
    if (!hasBody || raw.complete) return;
    const socket = raw.socket;
    const timer = setTimeout(() => {
      if (raw.complete || socket.destroyed) return;
      request.log.info({ ms }, 'request body not received within the deadline; closing the connection');
      // Written raw: the route is still waiting for the body, so Fastify's reply is not ours to use.
      if (!reply.raw.headersSent) writeRawError(socket, errors.requestTimeout(ms));
      socket.destroy();
    }, ms);
    timer.unref();
    // The socket outlives the request (keep-alive): its listener must go with the request.
    const clear = () => {
      clearTimeout(timer);
      socket.off('close', clear);
    };
    raw.once('end', clear);
    raw.once('close', clear);
    socket.once('close', clear);
  }
}
