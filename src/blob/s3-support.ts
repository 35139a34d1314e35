import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { BlobNotFound, StorageUnavailable } from '../errors.js';
import type { ByteRange } from './store.js';

/* Stream and error plumbing of the S3 backend, kept apart so s3.ts reads as the BlobStore it is. */

/** The first byte offset of a response: from `Content-Range: bytes a-b/n`, else 0 (a 200 with the whole object). */
export function firstByteOf(contentRange: string | undefined): number {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(contentRange?.trim() ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * Cuts exactly `range` out of a response body that starts at byte `firstByte`. HTTP lets a server
 * answer a Range request with more than was asked, or with the whole object (s3rver does so for
 * `bytes=0-0`), but our reply has already promised Content-Length = the range's length.
 */
export function cutRange(body: Readable, firstByte: number, range: ByteRange): Readable {
  let skip = range.start - firstByte;
  let left = range.end - range.start + 1;
  if (skip < 0) throw new Error(`object storage answered from byte ${firstByte}, after the requested ${range.start}`);
  const cut = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (left === 0) return done();
      let part = chunk;
      if (skip > 0) {
        const dropped = Math.min(skip, part.length);
        skip -= dropped;
        part = part.subarray(dropped);
      }
      if (part.length > left) part = part.subarray(0, left);
      left -= part.length;
      if (part.length > 0) this.push(part);
      // Enough bytes: stop downloading the rest of an over-long answer.
      if (left === 0) {
        this.push(null);
        body.unpipe(cut);
        body.destroy();
      }
      done();
    },
  });
  body.on('error', (err) => cut.destroy(err));
  return body.pipe(cut);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

/** Translates SDK and network failures into the store's domain errors; our own errors (size checks, the body's) pass through. */
export function storageError(err: unknown, key?: string): unknown {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  if (key !== undefined && (e?.name === 'NoSuchKey' || e?.name === 'NotFound' || status === 404)) return new BlobNotFound(key);
  if (e?.$metadata !== undefined || NETWORK_CODES.has(e?.code ?? '') || e?.name === 'TimeoutError') {
    return new StorageUnavailable(`object storage unusable (${e?.name ?? e?.code}${status ? ` ${status}` : ''}: ${(err as Error).message})`, false, { cause: err });
  }
  return err;
}

/** Passes bytes through, failing the stream when it carries more or fewer than `size` — before the upload can complete. */
export function exactSize(key: string, size: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      seen += chunk.length;
      if (seen > size) done(new Error(`blob ${key}: got more than the expected ${size} bytes`));
      else done(null, chunk);
    },
    flush(done: TransformCallback) {
      done(seen === size ? null : new Error(`blob ${key}: got ${seen} bytes, expected ${size}`));
    },
  });
}
