import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobStore } from '../blob/store.js';
import { computePlaceholders, placeholdersPossible } from '../media/placeholder.js';
import type { AssetRecord, AssetRepository } from '../meta/repository.js';
import type { InFlight } from '../ops/in-flight.js';

export interface PlaceholderQueueDeps {
  blobs: BlobStore;
  repo: AssetRepository;
  /** Uploads in progress: placeholders wait until there are none. */
  inFlight: InFlight;
  /** How many assets may wait; more are dropped (a later GET enqueues them again). */
  capacity?: number;
  onError?: (err: unknown, assetId: string) => void;
}

/** How often a waiting queue looks again whether uploads have stopped (and whether it is closed). */
const IDLE_WAIT_MS = 500;
/**
 * How long no upload may have started before an image is decoded. A moment with none in flight
 * happens between the requests of a busy client too; a quiet spell is what tells idle from busy.
 */
const QUIET_MS = 50;

/**
 * Makes image placeholders after the upload's 201, at idle priority: one image at a time, only
 * once no upload has been in flight for a moment, from a bounded queue that drops what does not fit. Decoding an
 * image (even shrunk) costs more CPU than the rest of an upload, so under upload load nothing runs
 * and the queue simply fills; the fields appear once the server has time. The image is read from
 * the blob store (it may be S3): the upload's temp file is gone by then.
 */
export class PlaceholderQueue {
  private readonly waiting = new Map<string, AssetRecord>();
  /** Assets whose pixels did not decode: not tried again on every GET (bounded, oldest forgotten). */
  private readonly failed = new Set<string>();
  private readonly capacity: number;
  private draining: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly deps: PlaceholderQueueDeps) {
    this.capacity = deps.capacity ?? 256;
  }

  /** Queues the asset if it lacks placeholders that can be made; false when it was not queued. */
  enqueue(asset: AssetRecord): boolean {
    if (this.closed || asset.thumbhash !== undefined || !placeholdersPossible(asset.mimeType)) return false;
    if (this.waiting.has(asset.id) || this.failed.has(asset.id) || this.waiting.size >= this.capacity) return false;
    this.waiting.set(asset.id, asset);
    this.start();
    return true;
  }

  private start(): void {
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
      // Something may have been queued between the last look and now.
      if (this.waiting.size > 0 && !this.closed) this.start();
    });
  }

  /** Stops taking work and waits for the image being processed, if any (call before the repository closes). */
  async close(): Promise<void> {
    this.closed = true;
    this.waiting.clear();
    await this.draining;
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      if (!(await this.quiet())) continue;
      const next = this.waiting.values().next();
      if (next.done || this.closed) return;
      this.waiting.delete(next.value.id);
      await this.make(next.value).catch((err: unknown) => this.deps.onError?.(err, next.value.id));
    }
  }

  private async quiet(): Promise<boolean> {
    const { inFlight } = this.deps;
    if (!(await inFlight.idle(IDLE_WAIT_MS))) return false;
    const entries = inFlight.entries;
    await sleep(QUIET_MS);
    return inFlight.size === 0 && inFlight.entries === entries;
  }

  private async make(asset: AssetRecord): Promise<void> {
    // Queued from a row read before: another queue (a cluster sibling, another instance) may have
    // made them since, or the asset may be gone. Decoding again would waste a whole image decode,
    // and writing again would drop a fresh row from the cache for nothing.
    const current = await this.deps.repo.findById(asset.id);
    if (current === null || current.thumbhash !== undefined) return;
    // Whole image in memory, one at a time: sharp buffers a streamed input anyway.
    const image = await buffer(await this.deps.blobs.get(asset.blobKey));
    const placeholders = await computePlaceholders(image, asset.mimeType);
    if (placeholders === null) {
      this.failed.add(asset.id);
      if (this.failed.size > this.capacity * 4) this.failed.delete(this.failed.values().next().value as string);
      return;
    }
    await this.deps.repo.setPlaceholders(asset.id, placeholders);
  }
}
