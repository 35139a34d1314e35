import { LRUCache } from 'lru-cache';
import type { AssetPage, AssetRecord, AssetRepository, ListQuery } from './repository.js';

type Placeholders = Parameters<AssetRepository['setPlaceholders']>[1];

export interface RowCacheOptions {
  /** Rows kept (LRU); each is well under 1 KB. */
  maxEntries: number;
  /**
   * How long a cached row is trusted. A row never changes after insert except by delete and by its
   * placeholders being added; either through this process evicts at once, but one made by another
   * process (a cluster sibling, a second instance on the same database, `ams` commands) is seen only
   * once the entry expires.
   */
  ttlMs: number;
}

/**
 * Asset rows kept in memory in front of the database. Metadata reads (`GET /assets/{id}`, every
 * file URL) are the hot path: a storefront asks for the same few thousand assets all day, and each
 * database round trip costs more than the rest of the request (W2 profile: ~12 % of the CPU in the
 * SQLite query alone). Only hits are cached: an unknown id always asks the database, so an asset
 * uploaded through another instance is visible at once.
 */
export class CachedAssetRepository implements AssetRepository {
  private readonly rows: LRUCache<string, AssetRecord>;
  /** Bumped by every delete or update: a lookup that overlapped one does not cache what it read. */
  private changes = 0;

  constructor(
    private readonly inner: AssetRepository,
    options: RowCacheOptions,
  ) {
    this.rows = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs, ttlAutopurge: false });
  }

  async insert(asset: AssetRecord): Promise<void> {
    await this.inner.insert(asset);
  }

  async findById(id: string): Promise<AssetRecord | null> {
    const hit = this.rows.get(id);
    if (hit !== undefined) return hit;
    const epoch = this.changes;
    const row = await this.inner.findById(id);
    if (row !== null && epoch === this.changes) this.rows.set(id, row);
    return row;
  }

  cached(id: string): AssetRecord | undefined {
    return this.rows.get(id);
  }

  async setPlaceholders(id: string, placeholders: Placeholders): Promise<void> {
    // Unlike a delete, this change may be seen late: the cached row stays right without the new
    // fields. So it is dropped only once the write has succeeded (then the next read carries them).
    // Dropped first, a placeholder write that ran into a database outage took a fresh upload's row
    // out of the cache just when only the cache could answer for it (its GET then got a 503).
    this.changes++; // a lookup overlapping the write does not cache what it read
    await this.inner.setPlaceholders(id, placeholders);
    this.changes++;
    this.rows.delete(id);
  }

  list(query: ListQuery): Promise<AssetPage> {
    return this.inner.list(query);
  }

  delete(id: string): Promise<boolean> {
    return this.changing(id, () => this.inner.delete(id));
  }

  /** Runs a change to one row with its cached copy evicted before and after. */
  private async changing<T>(id: string, change: () => Promise<T>): Promise<T> {
    this.changes++;
    this.rows.delete(id);
    try {
      return await change();
    } finally {
      // A lookup that started before the change and ends after it must not re-cache the old row.
      this.changes++;
      this.rows.delete(id);
    }
  }

  countByBlobKey(blobKey: string): Promise<number> {
    return this.inner.countByBlobKey(blobKey);
  }

  check(): Promise<void> {
    return this.inner.check();
  }

  close(): Promise<void> {
    this.rows.clear();
    return this.inner.close();
  }
}
