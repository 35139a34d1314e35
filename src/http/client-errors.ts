import { STATUS_CODES, maxHeaderSize, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { AmsError } from '../errors.js';
import { errorBody } from './error-handler.js';

/** Node's parse errors carry llhttp's code (HPE_…) and a short reason ("Invalid header value char"). */
type ClientError = Error & { code?: string; reason?: string };

/** The catalogue's answer to a request Node could not parse, before any request object exists. */
export function clientErrorOf(err: ClientError): AmsError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new AmsError('HEADERS_TOO_LARGE', 431, `The request's headers exceed ${maxHeaderSize} bytes; send shorter headers`);
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new AmsError('REQUEST_TIMEOUT', 408, 'The request was not received in time; send it again over a faster connection');
  }
  // llhttp's reasons are fixed texts, never the client's bytes; keep them on one short line anyway.
  const reason = (err.reason ?? err.code ?? 'unparseable').replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
  return new AmsError(
    'BAD_HTTP_REQUEST',
    400,
    `Malformed HTTP request (${reason}); send a well-formed HTTP/1.1 request: one Content-Length or chunked Transfer-Encoding, and header lines of name: value`,
  );
}

/**
 * Fastify's `clientErrorHandler`: Node could not parse a request (bad framing, a header without a
 * colon, headers over the size limit…). Fastify's default answers `{"message":"Client Error"}`,
 * outside the catalogue and with nothing to act on. The answer is written raw (there is no request
 * or reply yet), then the socket is closed: after a framing error nothing more on it can be trusted.
 */
export function handleClientError(this: { log: FastifyBaseLogger }, err: ClientError, socket: Socket): void {
  // A reset or an already closed socket has no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = clientErrorOf(err);
  this.log.info({ code: e.code, reason: err.code }, e.message);
  // A response still being written on this connection (pipelining) must not be cut into.
  const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (!inProgress) writeRawError(socket, e);
  socket.destroy();
}

/**
 * Writes `e` straight onto the socket as a whole HTTP response that closes the connection: for
 * when there is no reply to use (a request Node could not parse; a body still awaited by its route).
 */
export function writeRawError(socket: Socket, e: AmsError): void {
  if (!socket.writable) return;
  const body = JSON.stringify(errorBody(e));
  socket.write(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The server's `checkExpectation` event: an `Expect` other than 100-continue, which Node answers
 * with a bare 417 and no body while keeping the connection open. Answered in the catalogue's
 * shape instead, and the connection closed, since the body that may follow was never read.
 */
export function answerUnsupportedExpectation(req: IncomingMessage, res: ServerResponse): void {
  const message = `Only Expect: 100-continue is supported (got ${JSON.stringify(String(req.headers.expect).slice(0, 100))}); send the request without that Expect header`;
  const body = JSON.stringify(errorBody(new AmsError('EXPECTATION_FAILED', 417, message)));
  res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}
