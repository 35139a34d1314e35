import { createWriteStream, fdatasync, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { promisify } from 'node:util';

const fdatasyncFd = promisify(fdatasync);

/**
 * How much may be written between two background fdatasyncs. Without them a large upload's pages
 * stay dirty until the final fsync (the kernel starts writeback at 10 % of RAM), so the 201 of a
 * 1 GiB file waited seconds for all of it to reach the disk after the last byte arrived.
 */
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;

/**
 * A new temporary file being written; the stream fsyncs it before closing (`flush`), so the bytes
 * are durable before anything points at them. While it is written, every SYNC_EVERY_BYTES starts
 * an fdatasync in the thread pool (one at a time), so writeback overlaps the upload instead of
 * following it. `settled()` must be awaited before the stream is ended: the fd must not close
 * under a pending sync.
 */
export class DurableTempFile {
  readonly stream: WriteStream;
  private unsynced = 0;
  private syncing: Promise<void> | null = null;
  private syncError: unknown = null;

  constructor(file: string) {
    this.stream = createWriteStream(file, { flags: 'wx', mode: 0o600, flush: true, highWaterMark: 1024 * 1024 });
  }

  /** Counts bytes handed to `stream`; may start a background fdatasync. */
  wrote(bytes: number): void {
    this.unsynced += bytes;
    const { fd } = this.stream as unknown as { fd: number | null }; // set once the stream has opened
    if (this.unsynced < SYNC_EVERY_BYTES || this.syncing !== null || typeof fd !== 'number') return;
    this.unsynced = 0;
    this.syncing = fdatasyncFd(fd)
      // Linux may report a writeback error to one fsync only: keep it, or the final one could pass.
      .catch((err: unknown) => void (this.syncError ??= err))
      .finally(() => (this.syncing = null));
  }

  /** Waits for a background sync; throws its error. */
  async settled(): Promise<void> {
    await this.syncing;
    if (this.syncError !== null) throw this.syncError;
  }
}

/**
 * Removes a temp file; a missing one is fine. unlink alone: `fs.rm` lstats the path twice first
 * (its option check and rimraf), and each upload removes its temp file.
 */
export async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Destroys a file write stream and resolves once it has let go of its file: only then may a failed
 * transfer's cleanup remove the file. A stream given a path opens it lazily, in the thread pool,
 * and a failed pipeline does not wait for that: when the source failed at once (a client gone as
 * its file part began), the cleanup's unlink could come back ENOENT before open(2) created the
 * file, and the empty file stayed behind (about one upload in 300 cut at that point, under load).
 */
export async function releaseWriteStream(stream: WriteStream): Promise<void> {
  if (stream.closed) return;
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  stream.destroy();
  await closed;
}
