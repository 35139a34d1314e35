import type { Kysely } from 'kysely';
import { DatabaseUnavailable } from '../errors.js';

/** What a key already stands for: the bytes it was first used with, and the reply once committed. */
export interface IdempotencyRecord {
  sha256: string;
  /** The original 201 body as JSON text; null while that upload is still in progress. */
  response: string | null;
}

interface KeysTable {
  key: string;
  sha256: string;
  response: string | null;
  expires_at: number | string;
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new DatabaseUnavailable(`database error: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Idempotency keys in the assets database (SQLite or Postgres). A key is *reserved* with the
 * upload's SHA-256 before the asset is committed, by an insert that does nothing on conflict, so
 * two concurrent retries cannot both create an asset: exactly one reservation wins.
 */
export class IdempotencyStore {
  private readonly db: Kysely<{ idempotency_keys: KeysTable }>;

  constructor(db: Kysely<any>) {
    this.db = db;
  }

  /** null: reserved for this upload. Otherwise the record the key already holds. */
  reserve(key: string, sha256: string, now: Date, ttlS: number): Promise<IdempotencyRecord | null> {
    return guard(async () => {
      const t = now.getTime();
      // An expired key is forgotten first, so it can be reused.
      await this.db.deleteFrom('idempotency_keys').where('key', '=', key).where('expires_at', '<=', t).execute();
      const res = await this.db
        .insertInto('idempotency_keys')
        .values({ key, sha256, response: null, expires_at: t + ttlS * 1000 })
        .onConflict((oc) => oc.column('key').doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0n) > 0) return null;
      const row = await this.db.selectFrom('idempotency_keys').select(['sha256', 'response']).where('key', '=', key).executeTakeFirst();
      // Deleted between our insert and select (expired and purged): treat as in progress, the client retries.
      return row ?? { sha256, response: null };
    });
  }

  complete(key: string, response: string): Promise<void> {
    return guard(async () => {
      await this.db.updateTable('idempotency_keys').set({ response }).where('key', '=', key).execute();
    });
  }

  /** Frees a reservation whose upload failed, so the client may retry with the same key. */
  release(key: string): Promise<void> {
    return guard(async () => {
      await this.db.deleteFrom('idempotency_keys').where('key', '=', key).where('response', 'is', null).execute();
    });
  }

  /** What purgeExpired would remove (for `ams gc --dry-run`). */
  countExpired(now: Date): Promise<number> {
    return guard(async () => {
      const row = await this.db.selectFrom('idempotency_keys').select((eb) => eb.fn.countAll<number>().as('n')).where('expires_at', '<=', now.getTime()).executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  purgeExpired(now: Date): Promise<number> {
    return guard(async () => {
      const res = await this.db.deleteFrom('idempotency_keys').where('expires_at', '<=', now.getTime()).executeTakeFirst();
      return Number(res.numDeletedRows);
    });
  }
}
