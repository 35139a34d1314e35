import type { FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import type { ReceivedFile } from '../ingest/receive.js';
import type { IdempotencyStore } from '../meta/idempotency.js';
import { principalOf } from './auth.js';

const KEY = /^[\x21-\x7e]{1,255}$/;

/** One upload's part in the Idempotency-Key protocol; `replay` set means: answer with it, store nothing. */
export interface IdempotentUpload {
  replay: unknown;
  finish(body: unknown): Promise<void>;
  abort(): Promise<void>;
}

const NONE: IdempotentUpload = { replay: undefined, finish: async () => {}, abort: async () => {} };

/** Rejects a malformed key before the body is read. */
export function checkIdempotencyKeyHeader(request: FastifyRequest): void {
  const key = request.headers['idempotency-key'];
  if (key !== undefined && (typeof key !== 'string' || !KEY.test(key))) throw errors.badIdempotencyKey();
}

/**
 * A retry with the same key and bytes gets the original 201 body; other bytes get 422; a retry
 * that arrives while the first is still committing gets 409 (retry shortly). Keys are scoped to
 * the principal, so one client cannot replay another's upload.
 */
export async function beginIdempotentUpload(
  store: IdempotencyStore | undefined,
  ttlS: number,
  request: FastifyRequest,
  received: ReceivedFile,
): Promise<IdempotentUpload> {
  const raw = request.headers['idempotency-key'];
  if (store === undefined || typeof raw !== 'string') return NONE;
  checkIdempotencyKeyHeader(request);
  const key = `${principalOf(request) ?? 'anonymous'}\n${raw}`;
  const existing = await store.reserve(key, received.sha256, new Date(), ttlS);
  if (existing !== null) {
    if (existing.sha256 !== received.sha256) throw errors.idempotencyConflict();
    if (existing.response === null) throw errors.idempotencyInProgress();
    return { ...NONE, replay: JSON.parse(existing.response) };
  }
  return {
    replay: undefined,
    finish: (body) => store.complete(key, JSON.stringify(body)),
    abort: () => store.release(key),
  };
}
