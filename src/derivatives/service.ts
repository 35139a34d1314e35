/**
 * Derivatives as cached blobs: a derivative is computed once, stored under its source's hash and
 * canonical parameters, then served like an original. Concurrent requests for the same missing
 * derivative share one transform (single flight); a failed or timed-out transform stores nothing.
 *
 * The store is write-behind: the requests that waited for a transform are answered from its bytes
 * in memory while the blob is written (a put fsyncs twice, which can cost as much as the transform).
 * Until the put settles, new requests for the key join the in-memory result rather than re-compute.
 *
 * A video's derivative is its poster: a frame extracted by ffmpeg (media/ffmpeg.ts), then resized and
 * encoded by the same transformer, guards and formats as an image's.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { derivativeKey } from '../blob/keys.js';
import type { BlobStore } from '../blob/store.js';
import { BlobNotFound, errors } from '../errors.js';
import { releaseWriteStream } from '../ingest/temp-file.js';
import type { FrameExtractor } from '../media/ffmpeg.js';
import type { ImageTransformer } from '../media/transform.js';
import { canonicalQuery, EXT_OF, MIME_OF, posterTimeMs, type Geometry, type OutputFormat } from '../media/variant-spec.js';
import type { AssetRecord } from '../meta/repository.js';
import { derivativeMetrics } from './metrics.js';

export interface StoredDerivative {
  key: string;
  size: number;
  contentType: string;
  /** The bytes, when this request waited for the transform (the blob may still be being written). */
  bytes?: Buffer;
}

export class DerivativeService {
  private readonly inflight = new Map<string, Promise<StoredDerivative>>();
  private readonly writes = new Set<Promise<unknown>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly transformer: ImageTransformer,
    /** Video posters: the frame source, and where a copy of a video not on this disk may go. */
    private readonly posters?: { frames: FrameExtractor; tempDir: string },
  ) {}

  /**
   * Where the derivative lives (or will): known before any work, so validators need no blob.
   * A poster is named `poster…` under its video's hash (`ams gc` finds it by the same prefix).
   */
  keyOf(asset: AssetRecord, g: Geometry, format: OutputFormat): string {
    const params = canonicalQuery(g, format);
    const name = asset.kind === 'video' ? (params === '' ? 'poster' : `poster&${params}`) : params;
    return derivativeKey(asset.sha256, name, EXT_OF[format]);
  }

  /** Throws 501 FFMPEG_UNAVAILABLE when posters cannot be made here (waits for the start-up check). */
  async assertPostersAvailable(): Promise<void> {
    const status = await this.posters?.frames.status;
    if (!status?.usable) throw errors.ffmpegUnavailable(this.posters?.frames.ffmpegPath ?? 'ffmpeg');
  }

  /** The stored derivative, or the one just computed for it (at most one transform per key at a time). */
  async ensure(asset: AssetRecord, g: Geometry, format: OutputFormat): Promise<StoredDerivative> {
    const key = this.keyOf(asset, g, format);
    const contentType = MIME_OF[format];
    // Checked before the stat as well: while a blob is being written, its stat may still miss.
    const before = this.inflight.get(key);
    if (before) {
      derivativeMetrics.coalesced.inc();
      return before;
    }
    try {
      const { size } = await this.blobs.stat(key);
      derivativeMetrics.hits.inc();
      return { key, size, contentType };
    } catch (err) {
      if (!(err instanceof BlobNotFound)) throw err;
    }
    const running = this.inflight.get(key);
    if (running) {
      derivativeMetrics.coalesced.inc();
      return running;
    }
    const work = this.compute(asset, g, format, key);
    this.inflight.set(key, work);
    const write = work
      .then(
        // A failed put only loses the cache entry: the next request computes again.
        (d) => this.blobs.put(key, Readable.from([d.bytes as Buffer]), { size: d.size, contentType }).catch(() => {
          derivativeMetrics.storeFailures.inc();
        }),
        () => undefined, // a failed transform was reported to the requests that waited for it
      )
      .finally(() => {
        this.inflight.delete(key);
        this.writes.delete(write);
      });
    this.writes.add(write);
    return work;
  }

  /** Waits for the blobs still being written (on shutdown, before the store goes away). */
  async drain(): Promise<void> {
    await Promise.all([...this.writes]);
  }

  private async compute(asset: AssetRecord, g: Geometry, format: OutputFormat, key: string): Promise<StoredDerivative> {
    const contentType = MIME_OF[format];
    // Images are bounded by the pixel limit and transforms by the concurrency cap, so holding one
    // source in memory per running transform is bounded too (and sharp decodes faster from memory).
    const end = derivativeMetrics.seconds.startTimer({ format });
    try {
      const source = asset.kind === 'video' ? await this.posterFrame(asset, g) : await this.original(asset);
      const result = await this.transformer.transform(source, g, format);
      derivativeMetrics.transforms.inc({ format, outcome: 'ok' });
      return { key, size: result.bytes.length, contentType, bytes: result.bytes };
    } catch (err) {
      derivativeMetrics.transforms.inc({ format, outcome: 'failed' });
      throw err;
    } finally {
      end();
    }
  }

  private async original(asset: AssetRecord): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.blobs.get(asset.blobKey)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * The video's frame at the poster time, as PNG. ffmpeg seeks (an MP4's index may sit at its end),
   * so it reads the blob itself on disk, or from object storage through a presigned URL with range
   * requests (a poster of a 2 GB video then reads its index and a few frames, not 2 GB); only a
   * store with neither gets a temporary copy, removed afterwards.
   */
  private async posterFrame(asset: AssetRecord, g: Geometry): Promise<Buffer> {
    if (!this.posters) throw new Error('video posters are not configured');
    const { frames, tempDir } = this.posters;
    const atMs = posterTimeMs(asset.durationMs, g.time);
    const local = this.blobs.localFile(asset.blobKey);
    if (local !== null) return frames.frameAt({ file: local }, asset.mimeType, atMs);
    // Valid for the whole run: the limiter's queue wait plus two ffmpeg attempts fit in an hour.
    const url = await this.blobs.toolUrl(asset.blobKey, 3600);
    if (url !== null) {
      // A missing object or an unreachable bucket is said as such (404 / 503), not as ffmpeg's failure.
      await this.blobs.stat(asset.blobKey);
      return frames.frameAt({ url }, asset.mimeType, atMs);
    }
    const copy = path.join(tempDir, `poster-${randomUUID()}.part`);
    let out: WriteStream | undefined;
    try {
      const source = await this.blobs.get(asset.blobKey);
      out = createWriteStream(copy);
      await pipeline(source, out);
      return await frames.frameAt({ file: copy }, asset.mimeType, atMs);
    } finally {
      // After a failed copy the stream may still be opening (creating) the file: wait for it.
      if (out !== undefined) await releaseWriteStream(out);
      await fs.rm(copy, { force: true });
    }
  }
}
