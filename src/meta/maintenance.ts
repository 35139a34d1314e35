import type { Kysely } from 'kysely';
import { originalKey } from '../blob/keys.js';

/** One stored original as the rows describe it, with the assets that share it. */
export interface StoredBlob {
  blobKey: string;
  md5: string;
  sha256: string;
  sizeBytes: number;
  assetIds: string[];
}

/**
 * Read-only queries for the maintenance commands (`ams verify`, `ams gc`), kept out of the
 * request-path repository. Rows are read in pages so a large catalogue is never loaded at once.
 */
export async function* storedBlobs(db: Kysely<any>, pageSize = 1000): AsyncIterable<StoredBlob> {
  let after = '';
  for (;;) {
    const rows = (await db
      .selectFrom('assets')
      .select(['id', 'blob_key', 'md5', 'sha256', 'size_bytes'])
      .where('blob_key', '>', after)
      .orderBy('blob_key')
      .orderBy('id')
      .limit(pageSize)
      .execute()) as Array<{ id: string; blob_key: string; md5: string; sha256: string; size_bytes: number | string }>;
    if (rows.length === 0) return;
    // A page may end in the middle of one blob's rows: finish that blob before moving on.
    const last = rows[rows.length - 1]!.blob_key;
    const rest = rows.length === pageSize
      ? ((await db.selectFrom('assets').select(['id', 'blob_key', 'md5', 'sha256', 'size_bytes']).where('blob_key', '=', last).execute()) as typeof rows)
      : [];
    const byKey = new Map<string, StoredBlob>();
    for (const r of [...rows, ...rest]) {
      const b = byKey.get(r.blob_key) ?? { blobKey: r.blob_key, md5: r.md5, sha256: r.sha256, sizeBytes: Number(r.size_bytes), assetIds: [] };
      if (!b.assetIds.includes(r.id)) b.assetIds.push(r.id);
      byKey.set(r.blob_key, b);
    }
    yield* byKey.values();
    after = last;
  }
}

/** Whether any asset row has this content hash (originals and derivatives are both keyed by it). */
export async function isReferenced(db: Kysely<any>, sha256: string): Promise<boolean> {
  // By blob key, which is indexed; an original's key is a function of its hash.
  const row = await db.selectFrom('assets').select('id').where('blob_key', '=', originalKey(sha256)).limit(1).executeTakeFirst();
  return row !== undefined;
}

export async function countBlobs(db: Kysely<any>): Promise<{ blobs: number; bytes: number }> {
  const rows = (await db.selectFrom('assets').select(['blob_key', 'size_bytes']).groupBy(['blob_key', 'size_bytes']).execute()) as Array<{ size_bytes: number | string }>;
  return { blobs: rows.length, bytes: rows.reduce((n, r) => n + Number(r.size_bytes), 0) };
}
