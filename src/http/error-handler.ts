import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AmsError, BlobNotFound, DatabaseUnavailable, StorageUnavailable, errors } from '../errors.js';

/** Errors thrown by Fastify and its plugins, translated into the catalogue. */
function fromFramework(err: FastifyError, maxUploadBytes: number): AmsError | null {
  switch (err.code) {
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.noFile();
    case 'FST_FILES_LIMIT':
      return errors.tooManyFiles();
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.tooLarge(maxUploadBytes);
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_PROTO_VIOLATION':
      return new AmsError('BAD_MULTIPART', 400, `Malformed upload (${err.message}); send one file part in a multipart/form-data body`);
    default:
      break;
  }
  if (err.validation) return new AmsError('BAD_REQUEST', 400, `Invalid request: ${err.message}`);
  // busboy's messages for a body that is not valid multipart or ends early.
  if (/multipart|boundary|terminated early|Unexpected end of form/i.test(err.message)) {
    return new AmsError('BAD_MULTIPART', 400, `Malformed multipart body (${err.message}); send one file part in a multipart/form-data body`);
  }
  if (err.code === 'FST_REQ_FILE_PREMATURE_CLOSE' || err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET') {
    return errors.uploadAborted();
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new AmsError(err.code ?? 'BAD_REQUEST', err.statusCode, err.message);
  }
  return null;
}

export function toAmsError(err: unknown, maxUploadBytes: number): AmsError | null {
  if (err instanceof AmsError) return err;
  if (err instanceof StorageUnavailable) return err.full ? errors.storageFull() : errors.storageUnavailable();
  if (err instanceof DatabaseUnavailable) return errors.databaseUnavailable();
  if (err instanceof BlobNotFound) return null; // a row whose blob vanished is our fault: 500, logged
  return fromFramework(err as FastifyError, maxUploadBytes);
}

/**
 * A query string the route's schema refused, told in the client's terms: the parameter, the value
 * and what to send instead (the parameter's description in the schema, which the OpenAPI document
 * shows too), rather than Ajv's "querystring/kind must be equal to constant, … must match a schema
 * in anyOf". A parameter given twice arrives as an array, which Ajv calls the wrong type.
 */
function queryParameterError(err: FastifyError, request: FastifyRequest): AmsError | null {
  const first = err.validation?.[0];
  if (err.validationContext !== 'querystring' || first === undefined) return null;
  const name = first.instancePath.split('/')[1] ?? (first.params as { missingProperty?: string }).missingProperty;
  if (name === undefined || name === '') return null;
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  if (Array.isArray(value)) return new AmsError('INVALID_PARAMETER', 400, `Invalid ${name}: given ${value.length} times; give it once`);
  const schema = request.routeOptions.schema?.querystring as { properties?: Record<string, { description?: string }> } | undefined;
  const allowed = schema?.properties?.[name]?.description;
  if (allowed === undefined) return null;
  return new AmsError('INVALID_PARAMETER', 400, `Invalid ${name}=${JSON.stringify(String(value).slice(0, 100))}: ${allowed}`);
}

/** The catalogue's JSON body of `e`: `{statusCode, error, code, message}`. */
export function errorBody(e: AmsError) {
  return { statusCode: e.status, error: STATUS_CODES[e.status] ?? 'Error', code: e.code, message: e.message };
}

function sendError(reply: FastifyReply, e: AmsError) {
  return reply.code(e.status).headers(e.headers).send(errorBody(e));
}

/**
 * Fastify's `frameworkErrors`: the router gives up on a path before any route or hook runs — a
 * parameter longer than its limit (FST_ERR_MAX_PARAM_LENGTH, otherwise a 414 in Fastify's own
 * shape) or broken percent-encoding (FST_ERR_BAD_URL). The only parameters here are ids, and
 * no such path names a GUID, so it is the catalogue's 404, as for any other id that is not one.
 */
export function renderRouterError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('x-request-id', request.id);
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH' || err.code === 'FST_ERR_BAD_URL') {
    request.log.info({ code: err.code }, 'unroutable path');
    return sendError(reply, errors.notFound());
  }
  request.log.error({ err }, 'request failed');
  return sendError(reply, new AmsError('INTERNAL', 500, `Internal error; retry, and report request id ${request.id} if it persists`));
}

/** Renders every error as `{statusCode, error, code, message}`; 5xx texts are logged, not shown. */
export function createErrorHandler(maxUploadBytes: number) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const known = ((err as FastifyError).validation && queryParameterError(err as FastifyError, request)) || toAmsError(err, maxUploadBytes);
    if (known === null || known.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: known.code }, known.message);
    const e = known ?? new AmsError('INTERNAL', 500, `Internal error; retry, and report request id ${request.id} if it persists`);
    // An upload refused before its body was read: close rather than read the rest of it.
    if (!request.raw.complete) reply.header('connection', 'close');
    sendError(reply, e);
  };
}
