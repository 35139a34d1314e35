import type { MediaKind } from '../media/types.js';

/** One stored asset: the public id, what the bytes are, and where they live. */
export interface AssetRecord {
  id: string;
  name: string;
  kind: MediaKind;
  mimeType: string;
  ext: string;
  width: number;
  height: number;
  durationMs: number | null;
  sizeBytes: number;
  md5: string;
  sha256: string;
  blobKey: string;
  createdAt: Date;
  /**
   * Image placeholders (media/placeholder.ts), computed in the background after the upload:
   * absent until then, and for good when none can be computed.
   */
  thumbhash?: string;
  dominantColor?: string;
}

/** One page of the newest-first listing. */
export interface ListQuery {
  /** Page size (the caller bounds it). */
  limit: number;
  /** Opaque: the `nextCursor` of the previous page. */
  cursor?: string;
  kind?: MediaKind;
  /** Case-insensitive substring of the name (wildcards are literal). */
  q?: string;
}

export interface AssetPage {
  items: AssetRecord[];
  /** null on the last page. */
  nextCursor: string | null;
}

/**
 * Asset rows. One implementation (Kysely) serves SQLite and Postgres; drivers' failures come out
 * as `DatabaseUnavailable`, never as driver errors.
 */
export interface AssetRepository {
  insert(asset: AssetRecord): Promise<void>;
  /** Records an asset's placeholders; a missing id (deleted meanwhile) is not an error. */
  setPlaceholders(id: string, placeholders: { thumbhash: string; dominantColor: string }): Promise<void>;
  findById(id: string): Promise<AssetRecord | null>;
  /**
   * The row of `id` if this repository holds it in memory, without asking the database; undefined
   * otherwise (also when it has no cache). Lets the hottest reads be answered synchronously.
   */
  cached?(id: string): AssetRecord | undefined;
  /** Newest first, by (createdAt, id); a bad cursor throws the client error BAD_CURSOR. */
  list(query: ListQuery): Promise<AssetPage>;
  /** Deletes the row; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** How many rows point at this blob (an unreferenced blob may be collected). */
  countByBlobKey(blobKey: string): Promise<number>;
  /** Throws DatabaseUnavailable when the database cannot be used (readiness). */
  check(): Promise<void>;
  close(): Promise<void>;
}
