import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import { BlobNotFound } from '../errors.js';
import { assertSafeKey } from './keys.js';
import type { BlobEntry, BlobInfo, BlobStore, ByteRange } from './store.js';

/**
 * An in-memory store for tests of code above `blob/`. It passes the same conformance suite as the
 * real backends, which is what makes it safe to use in their place. Not for production: it holds
 * every blob in memory.
 */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, { bytes: Buffer; modifiedAt: Date }>();

  async putFile(key: string, file: string): Promise<{ created: boolean }> {
    assertSafeKey(key);
    const existing = this.blobs.get(key);
    if (existing) {
      existing.modifiedAt = new Date(); // as FsBlobStore: a re-put keeps the blob out of gc's reach
      return { created: false };
    }
    this.blobs.set(key, { bytes: await fs.readFile(file), modifiedAt: new Date() });
    return { created: true };
  }

  async put(key: string, body: Readable, info: BlobInfo): Promise<{ created: boolean }> {
    assertSafeKey(key);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
    const bytes = Buffer.concat(chunks);
    if (bytes.length !== info.size) throw new Error(`blob ${key}: got ${bytes.length} bytes, expected ${info.size}`);
    if (this.blobs.has(key)) return { created: false };
    this.blobs.set(key, { bytes, modifiedAt: new Date() });
    return { created: true };
  }

  private bytesOf(key: string): Buffer {
    assertSafeKey(key);
    const blob = this.blobs.get(key);
    if (!blob) throw new BlobNotFound(key);
    return blob.bytes;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const bytes = this.bytesOf(key);
    return Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]);
  }

  localFile(): null {
    return null;
  }

  async toolUrl(): Promise<null> {
    return null;
  }

  async stat(key: string): Promise<{ size: number }> {
    return { size: this.bytesOf(key).length };
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    this.blobs.delete(key);
  }

  async directUrl(): Promise<string | null> {
    return null;
  }

  async *list(prefix: string): AsyncIterable<BlobEntry> {
    for (const key of [...this.blobs.keys()].sort()) {
      const blob = this.blobs.get(key);
      if (key.startsWith(prefix) && blob) yield { key, size: blob.bytes.length, modifiedAt: blob.modifiedAt };
    }
  }

  async check(): Promise<void> {}
}
