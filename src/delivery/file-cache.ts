import { LRUCache } from 'lru-cache';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../blob/store.js';

export interface FileCacheOptions {
  /** Memory for cached files in all; 0 disables the cache. */
  maxBytes: number;
  /** Largest file kept whole. */
  maxFileBytes: number;
}

async function readWhole(stream: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    got += (chunk as Buffer).length;
    if (got > size) break;
  }
  // A short or long read is never cached: the row's size is the truth about these bytes.
  if (got !== size) throw new Error(`read ${got} bytes of a blob that has ${size}`);
  return Buffer.concat(chunks, size);
}

/**
 * Small files served from memory. Blob keys name immutable bytes (content hashes, and derivative
 * keys that are never overwritten), so a cached copy can never go stale; only memory bounds it.
 * Thumbnails and product photos are small and asked for again and again: opening, reading and
 * closing the file for each request cost ~15× what nginx pays with sendfile (W3 profile).
 * Concurrent misses of one key read the blob once.
 */
export class FileCache {
  private readonly files: LRUCache<string, Buffer, { size: number }> | null;

  constructor(
    private readonly blobs: BlobStore,
    private readonly options: FileCacheOptions,
  ) {
    this.files =
      options.maxBytes > 0
        ? new LRUCache<string, Buffer, { size: number }>({
            maxSize: options.maxBytes,
            sizeCalculation: (b) => Math.max(1, b.length),
            fetchMethod: async (key, _stale, { context }) => readWhole(await blobs.get(key), context.size),
          })
        : null;
  }

  /** Whether a file of this size is served from memory. */
  holds(size: number): boolean {
    return this.files !== null && size <= this.options.maxFileBytes && size <= this.options.maxBytes;
  }

  /** The whole file of `size` bytes under `key`, from memory (read once on a miss); null if too big to cache. */
  async get(key: string, size: number): Promise<Buffer | null> {
    if (this.files === null || !this.holds(size)) return null;
    return (await this.files.fetch(key, { context: { size } })) ?? null;
  }

  /** The whole file under `key` if it is in memory now (never reads the store). */
  cached(key: string, size: number): Buffer | undefined {
    const bytes = this.files?.get(key);
    return bytes !== undefined && bytes.length === size ? bytes : undefined;
  }

  /** Keeps bytes just produced (a derivative) so the next request does not read them back. */
  remember(key: string, bytes: Buffer): void {
    if (this.files !== null && this.holds(bytes.length)) this.files.set(key, bytes);
  }

  /** Streams `range` (or all) of a file: from memory when it is small, else from the store. */
  async open(key: string, size: number, range: { start: number; end: number } | null): Promise<Buffer | Readable> {
    const whole = await this.get(key, size);
    if (whole === null) return this.blobs.get(key, range ?? undefined);
    return range === null ? whole : whole.subarray(range.start, range.end + 1);
  }
}
