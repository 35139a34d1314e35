import { createReadStream } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BlobNotFound, StorageUnavailable } from '../errors.js';
import { assertSafeKey } from './keys.js';
import { cutRange, exactSize, firstByteOf, storageError } from './s3-support.js';
import type { BlobEntry, BlobInfo, BlobStore, ByteRange, DirectResponse } from './store.js';

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Prepended to every key ("" or ending in "/"). */
  prefix: string;
  /** When set, directUrl is `<base>/<prefix><key>` (CDN / public bucket) instead of a presigned URL. */
  publicBaseUrl: string | null;
  /** Keys per listing page (S3 caps it at 1000); smaller in tests to exercise paging. */
  listPageSize?: number;
}

/**
 * Blobs as objects in an S3-compatible bucket. A PUT (or a completed multipart upload) is atomic:
 * readers see the whole object or nothing. Keys are content-addressed, so two instances writing
 * the same key write the same bytes; within one process puts of a key are serialised so exactly
 * one reports `created`.
 */
export class S3BlobStore implements BlobStore {
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: S3BlobStoreOptions) {}

  private objectKey(key: string): string {
    assertSafeKey(key);
    return `${this.opts.prefix}${key}`;
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.opts.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }));
      return true;
    } catch (err) {
      const translated = storageError(err, key);
      if (translated instanceof BlobNotFound) return false;
      throw translated;
    }
  }

  /** Runs puts of one key one after the other, so "already exists" is seen by all but the first. */
  private serialised<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.pending.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.pending.set(key, next);
    const forget = () => {
      if (this.pending.get(key) === next) this.pending.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  putFile(key: string, file: string, info: BlobInfo): Promise<{ created: boolean }> {
    // The file is streamed, never read whole: memory stays bounded by the parts in flight.
    return this.put(key, createReadStream(file, { highWaterMark: 1024 * 1024 }), info);
  }

  async put(key: string, body: Readable, info: BlobInfo): Promise<{ created: boolean }> {
    let objectKey: string;
    try {
      objectKey = this.objectKey(key);
    } catch (err) {
      body.destroy(); // the stream (putFile's open file) is consumed or destroyed, never left open
      throw err;
    }
    return this.serialised(key, async () => {
      try {
        if (await this.exists(key)) {
          body.destroy();
          return { created: false };
        }
        const counted = pipeline(body, exactSize(key, info.size), () => {});
        const upload = new Upload({
          client: this.opts.client,
          // 8 MiB parts (S3's minimum is 5 MiB), two in flight: memory is bounded whatever the file size
          // (bench/s3-put-memory.ts: ~80-90 MiB of RSS growth, SDK included, for 256 MiB and 2 GiB alike).
          partSize: 8 * 1024 * 1024,
          queueSize: 2,
          leavePartsOnError: false,
          params: {
            Bucket: this.opts.bucket,
            Key: objectKey,
            Body: counted,
            ContentType: info.contentType,
            // Content-addressed: the bytes under a key never change, so caches (a CDN) may keep them forever.
            CacheControl: 'public, max-age=31536000, immutable',
          },
        });
        await upload.done();
        return { created: true };
      } catch (err) {
        body.destroy();
        throw storageError(err);
      }
    });
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const objectKey = this.objectKey(key);
    try {
      const res = await this.opts.client.send(
        new GetObjectCommand({ Bucket: this.opts.bucket, Key: objectKey, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      const body = (res.Body as Readable | undefined) ?? Readable.from([]);
      if (range === undefined) return body;
      const expected = range.end - range.start + 1;
      if (firstByteOf(res.ContentRange) === range.start && res.ContentLength === expected) return body;
      return cutRange(body, firstByteOf(res.ContentRange), range);
    } catch (err) {
      throw storageError(err, key);
    }
  }

  localFile(): null {
    return null;
  }

  async stat(key: string): Promise<{ size: number }> {
    const objectKey = this.objectKey(key);
    try {
      const res = await this.opts.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: objectKey }));
      return { size: res.ContentLength ?? 0 };
    } catch (err) {
      throw storageError(err, key);
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      await this.opts.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: objectKey }));
    } catch (err) {
      const translated = storageError(err, key);
      if (!(translated instanceof BlobNotFound)) throw translated;
    }
  }

  /** Presigned against the bucket itself, never the public base URL: a CDN may not pass ranges through. */
  async toolUrl(key: string, ttlSeconds: number): Promise<string> {
    const get = new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) });
    return getSignedUrl(this.opts.client, get, { expiresIn: ttlSeconds });
  }

  async directUrl(key: string, ttlSeconds: number, response?: DirectResponse): Promise<string | null> {
    const objectKey = this.objectKey(key);
    if (this.opts.publicBaseUrl !== null) return `${this.opts.publicBaseUrl}/${objectKey}`;
    const get = new GetObjectCommand({
      Bucket: this.opts.bucket,
      Key: objectKey,
      ResponseContentType: response?.contentType,
      ResponseContentDisposition: response?.contentDisposition,
    });
    // Presigning is local computation (no request): it works, and costs nothing, even when S3 is down.
    return getSignedUrl(this.opts.client, get, { expiresIn: ttlSeconds });
  }

  async *list(prefix: string): AsyncIterable<BlobEntry> {
    // ListObjects (v1) paged by Marker = the last key seen: every S3-compatible server speaks it,
    // while v2 continuation tokens are opaque and broken on some (s3rver encrypts them with DES,
    // which OpenSSL 3 refuses). Bounded by the bucket's size: each page moves the marker forward.
    let marker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.opts.client.send(
          new ListObjectsCommand({
            Bucket: this.opts.bucket,
            Prefix: `${this.opts.prefix}${prefix}`,
            Marker: marker,
            MaxKeys: this.opts.listPageSize ?? 1000,
          }),
        );
      } catch (err) {
        throw storageError(err);
      }
      const contents = page.Contents ?? [];
      for (const o of contents) {
        if (o.Key === undefined) continue;
        yield { key: o.Key.slice(this.opts.prefix.length), size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
      }
      const last = contents[contents.length - 1]?.Key;
      if (!page.IsTruncated || last === undefined || last === marker) return;
      marker = last;
    }
  }

  async check(): Promise<void> {
    try {
      await this.opts.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }));
    } catch (err) {
      const e = storageError(err);
      if (e instanceof StorageUnavailable && (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
        throw new StorageUnavailable(`bucket ${this.opts.bucket} does not exist`, false, { cause: err });
      }
      throw e;
    }
  }
}
