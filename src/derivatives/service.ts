/**
 * Derivatives as cached blobs: a derivative is computed once, stored under its source's hash and
 * canonical parameters, then served like an original. Concurrent requests for the same missing
 * derivative share one transform (single flight); a failed or timed-out transform stores nothing.
 */
import { Readable } from 'node:stream';
import { derivativeKey } from '../blob/keys.js';
import type { BlobStore } from '../blob/store.js';
import { BlobNotFound } from '../errors.js';
import type { ImageTransformer } from '../media/transform.js';
import { canonicalQuery, EXT_OF, MIME_OF, type Geometry, type OutputFormat } from '../media/variant-spec.js';
import type { AssetRecord } from '../meta/repository.js';
import { derivativeMetrics } from './metrics.js';

export interface StoredDerivative {
  key: string;
  size: number;
  contentType: string;
}

export class DerivativeService {
  private readonly inflight = new Map<string, Promise<StoredDerivative>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly transformer: ImageTransformer,
  ) {}

  /** Makes sure the derivative is stored (computing it at most once at a time) and says where. */
  async ensure(asset: AssetRecord, g: Geometry, format: OutputFormat): Promise<StoredDerivative> {
    const key = derivativeKey(asset.sha256, canonicalQuery(g, format), EXT_OF[format]);
    const contentType = MIME_OF[format];
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
    const work = this.compute(asset, g, format, key).finally(() => this.inflight.delete(key));
    this.inflight.set(key, work);
    return work;
  }

  private async compute(asset: AssetRecord, g: Geometry, format: OutputFormat, key: string): Promise<StoredDerivative> {
    const contentType = MIME_OF[format];
    // Images are bounded by the pixel limit and transforms by the concurrency cap, so holding one
    // source in memory per running transform is bounded too (and sharp decodes faster from memory).
    const chunks: Buffer[] = [];
    for await (const chunk of await this.blobs.get(asset.blobKey)) chunks.push(chunk as Buffer);
    const end = derivativeMetrics.seconds.startTimer({ format });
    try {
      const result = await this.transformer.transform(Buffer.concat(chunks), g, format);
      derivativeMetrics.transforms.inc({ format, outcome: 'ok' });
      await this.blobs.put(key, Readable.from([result.bytes]), { size: result.bytes.length, contentType });
      return { key, size: result.bytes.length, contentType };
    } catch (err) {
      derivativeMetrics.transforms.inc({ format, outcome: 'failed' });
      throw err;
    } finally {
      end();
    }
  }
}
