import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { BlobNotFound } from '../errors.js';
import type { BlobEntry, BlobStore } from './store.js';

export interface CopyProgress {
  done: number;
  total: number;
  bytes: number;
  key: string;
}

export interface CopyReport {
  total: number;
  copied: number;
  /** Already in the target with the same size (a resumed run), and verified when asked. */
  skipped: number;
  bytesCopied: number;
  /** Keys that could not be copied or verified, with why; the target holds none of them. */
  failed: Array<{ key: string; reason: string }>;
}

export interface CopyOptions {
  prefix?: string;
  /** Re-hash blobs already present in the target instead of trusting their size. */
  verifyExisting?: boolean;
  concurrency?: number;
  onProgress?: (p: CopyProgress) => void;
}

const ORIGINAL = /^originals\/[0-9a-f]{2}\/[0-9a-f]{2}\/([0-9a-f]{64})$/;

async function md5Of(store: BlobStore, key: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of await store.get(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Streams a blob while hashing it, and learns its type from the first bytes (object storage serves that Content-Type). */
async function hashedStream(body: Readable): Promise<{ stream: Readable; contentType: string; digests: () => { md5: string; sha256: string } }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const iterator = body[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < 4100) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value as Buffer);
    headBytes += (next.value as Buffer).length;
  }
  const type = await fileTypeFromBuffer(Buffer.concat(head));
  async function* all() {
    for (const chunk of head) yield chunk;
    if (ended) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value as Buffer;
  }
  async function* tapped() {
    for await (const chunk of all()) {
      md5.update(chunk);
      sha256.update(chunk);
      yield chunk;
    }
  }
  return {
    stream: Readable.from(tapped(), { objectMode: false }),
    contentType: type?.mime ?? 'application/octet-stream',
    digests: () => ({ md5: md5.digest('hex'), sha256: sha256.digest('hex') }),
  };
}

/**
 * Copies one blob and proves the copy: the target's bytes are read back and their MD5 compared
 * with the source's; an original's bytes must also hash to the SHA-256 its key names, so a damaged
 * source is reported instead of being spread. A copy that fails verification is deleted.
 */
async function copyOne(source: BlobStore, target: BlobStore, entry: BlobEntry, verifyExisting: boolean): Promise<'copied' | 'skipped'> {
  const existing = await target.stat(entry.key).catch((err: unknown) => {
    if (err instanceof BlobNotFound) return null;
    throw err;
  });
  if (existing !== null && existing.size === entry.size) {
    if (!verifyExisting) return 'skipped';
    if ((await md5Of(target, entry.key)) === (await md5Of(source, entry.key))) return 'skipped';
  }
  // A different blob under the key (a broken earlier copy): put() would keep it, so it goes first.
  if (existing !== null) await target.delete(entry.key);

  const { stream, contentType, digests } = await hashedStream(await source.get(entry.key));
  await target.put(entry.key, stream, { size: entry.size, contentType });
  const { md5, sha256 } = digests();
  const named = ORIGINAL.exec(entry.key)?.[1];
  const problem =
    named !== undefined && named !== sha256
      ? `the source bytes hash to ${sha256}, not the SHA-256 in their key: the source copy is damaged`
      : (await md5Of(target, entry.key)) !== md5
        ? 'the MD5 of the copy differs from the source'
        : null;
  if (problem !== null) {
    await target.delete(entry.key);
    throw new Error(problem);
  }
  return 'copied';
}

/**
 * Copies every blob under `prefix` from one store to another. Resumable: puts are atomic, so an
 * interrupted run leaves only whole blobs, and the next run skips those already there.
 */
export async function copyBlobs(source: BlobStore, target: BlobStore, opts: CopyOptions = {}): Promise<CopyReport> {
  const entries: BlobEntry[] = [];
  for await (const e of source.list(opts.prefix ?? '')) entries.push(e);
  const report: CopyReport = { total: entries.length, copied: 0, skipped: 0, bytesCopied: 0, failed: [] };
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let i = next++; i < entries.length; i = next++) {
      const entry = entries[i] as BlobEntry;
      try {
        if ((await copyOne(source, target, entry, opts.verifyExisting ?? false)) === 'copied') {
          report.copied++;
          report.bytesCopied += entry.size;
        } else {
          report.skipped++;
        }
      } catch (err) {
        report.failed.push({ key: entry.key, reason: (err as Error).message });
      }
      done++;
      opts.onProgress?.({ done, total: entries.length, bytes: report.bytesCopied, key: entry.key });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  return report;
}
