import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageUnavailable } from '../errors.js';
import { createStructureChecker, type StructureVerdict } from '../media/structure/index.js';

/** An upload received into a local temporary file, with what was learnt in the same pass. */
export interface ReceivedFile {
  path: string;
  size: number;
  md5: string;
  sha256: string;
  structure: StructureVerdict;
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
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      size += chunk.length;
      md5.update(chunk);
      sha256.update(chunk);
      checker.update(chunk);
      done(null, chunk);
    },
  });
  try {
    // `flush` fsyncs before close: the bytes are durable before anything points at them.
    const out = createWriteStream(file, { flags: 'wx', mode: 0o600, flush: true, highWaterMark: 1024 * 1024 });
    await pipeline(source, tap, out);
    const structure = await checker.finish({ path: file, size });
    return { path: file, size, md5: md5.digest('hex'), sha256: sha256.digest('hex'), structure };
  } catch (err) {
    await fs.rm(file, { force: true });
    throw tempFileError(err);
  }
}

/**
 * The temp directory is where a full or unwritable disk shows first: say so (507 / 503) instead of
 * a bare errno (500). Errors of the client's stream (aborts) have no such codes and pass through.
 */
function tempFileError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageUnavailable('no space left for temporary uploads', true, { cause: err });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'EIO' || code === 'ENOENT') {
    return new StorageUnavailable(`temporary upload directory unusable (${code})`, false, { cause: err });
  }
  return err;
}
