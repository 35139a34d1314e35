import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { storageError } from '../blob/fs-errors.js';
import { createStructureChecker, type StructureVerdict } from '../media/structure/index.js';
import { FILE_HEAD_BYTES, type FileHead } from '../media/types.js';
import { DurableTempFile } from './temp-file.js';

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
 */
export async function receiveToTempFile(source: Readable, tempDir: string): Promise<ReceivedFile> {
  const file = path.join(tempDir, `${randomUUID()}.upload`);
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const checker = createStructureChecker();
  let size = 0;
  let hashNs = 0n;
  const head: Buffer[] = [];
  const started = process.hrtime.bigint();
  const out = new DurableTempFile(file);
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (size < FILE_HEAD_BYTES) head.push(chunk.subarray(0, FILE_HEAD_BYTES - size));
      size += chunk.length;
      const t = process.hrtime.bigint();
      md5.update(chunk);
      sha256.update(chunk);
      hashNs += process.hrtime.bigint() - t;
      checker.update(chunk);
      out.wrote(chunk.length);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      out.settled().then(() => done(), done);
    },
  });
  try {
    await pipeline(source, tap, out.stream);
    const structure = await checker.finish({ path: file, size });
    const timing = { receiveSeconds: Number(process.hrtime.bigint() - started) / 1e9, hashSeconds: Number(hashNs) / 1e9 };
    const headBytes = Buffer.concat(head);
    return {
      path: file,
      size,
      md5: md5.digest('hex'),
      sha256: sha256.digest('hex'),
      structure,
      head: { bytes: headBytes, complete: headBytes.length === size },
      timing,
    };
  } catch (err) {
    await fs.rm(file, { force: true });
    // A full or unwritable temp disk is the service's condition (507/503), not a client error or a 500.
    throw storageError(err);
  }
}
