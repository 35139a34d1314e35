import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { storageError } from '../blob/fs-errors.js';
import { createStructureChecker, type StructureVerdict } from '../media/structure/index.js';
import { FILE_HEAD_BYTES, type FileHead } from '../media/types.js';
import { InlineHasher, ThreadHasher, type Digests } from './digests.js';
import { DurableTempFile, releaseWriteStream, removeFile } from './temp-file.js';

/** From this declared size on, uploads are hashed off the event loop (smaller: handing over costs more). */
export const THREAD_HASH_MIN_BYTES = 8 * 1024 * 1024;
/**
 * Threads only pay with a second core to run on (this process's CPU affinity, e.g. taskset). On
 * one core they share it with the event loop and add copies and messages: a 1 GiB upload went
 * from 207 to 162 MB/s pinned, and from ~250 to ~300 MB/s unpinned on two cores.
 */
const THREADS_PAY = availableParallelism() > 1;

/** An upload received into a local temporary file, with what was learnt in the same pass. */
export interface ReceivedFile {
  path: string;
  size: number;
  md5: string;
  sha256: string;
  structure: StructureVerdict;
  /** The first FILE_HEAD_BYTES (or the whole file), for sniffing and probing without a re-open. */
  head: FileHead;
  /** Where the receive time went (metrics); hashing is a share of receiving. */
  timing?: { receiveSeconds: number; hashSeconds: number };
}

/**
 * Streams `source` into a new temp file in `tempDir`, computing MD5, SHA-256 and the structural
 * check in the same pass, then fsyncs it. Nothing is ever held whole in memory. On failure the
 * temp file is removed and the error rethrown; on success the caller owns the file.
 * `expectedBytes` (the declared body size, if any) picks where to hash: see THREAD_HASH_MIN_BYTES.
 */
export async function receiveToTempFile(source: Readable, tempDir: string, expectedBytes = 0): Promise<ReceivedFile> {
  const file = path.join(tempDir, `${randomUUID()}.upload`);
  const hasher = THREADS_PAY && expectedBytes >= THREAD_HASH_MIN_BYTES ? new ThreadHasher() : new InlineHasher();
  const checker = createStructureChecker();
  let size = 0;
  const head: Buffer[] = [];
  const started = process.hrtime.bigint();
  const out = new DurableTempFile(file);
  let digests: Promise<Digests> | undefined;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (size < FILE_HEAD_BYTES) head.push(chunk.subarray(0, FILE_HEAD_BYTES - size));
      size += chunk.length;
      checker.update(chunk);
      out.wrote(chunk.length);
      const hashed = hasher.update(chunk);
      if (hashed === undefined) done(null, chunk);
      else hashed.then(() => done(null, chunk), done);
    },
    flush(done: TransformCallback) {
      // Threads finish their last batches while the temp file's final fsync runs.
      digests = hasher.finish();
      digests.catch(() => {}); // awaited below, after the pipeline
      out.settled().then(() => done(), done);
    },
  });
  try {
    await pipeline(source, tap, out.stream);
    const [{ md5, sha256, hashSeconds }, structure] = await Promise.all([digests ?? hasher.finish(), checker.finish({ path: file, size })]);
    const timing = { receiveSeconds: Number(process.hrtime.bigint() - started) / 1e9, hashSeconds };
    const headBytes = Buffer.concat(head);
    return {
      path: file,
      size,
      md5,
      sha256,
      structure,
      head: { bytes: headBytes, complete: headBytes.length === size },
      timing,
    };
  } catch (err) {
    hasher.abort();
    await releaseWriteStream(out.stream);
    await removeFile(file);
    // A full or unwritable temp disk is the service's condition (507/503), not a client error or a 500.
    throw storageError(err);
  }
}
