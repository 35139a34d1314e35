import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql, type Selectable } from 'kysely';
import { DatabaseUnavailable } from '../errors.js';
import type { MediaKind } from '../media/types.js';
import { migrationProvider } from './migrations/index.js';
import { decodeCursor, encodeCursor, likeContains } from './cursor.js';
import { cachePreparedStatements } from './statement-cache.js';
import { SqliteRowWriter } from './sqlite-writer.js';
import type { AssetPage, AssetRecord, AssetRepository, ListQuery } from './repository.js';

interface AssetsTable {
  id: string;
  name: string;
  kind: string;
  mime_type: string;
  ext: string;
  width: number;
  height: number;
  duration_ms: number | string | null;
  size_bytes: number | string;
  md5: string;
  sha256: string;
  blob_key: string;
  created_at: number | string;
  thumbhash: string | null;
  dominant_color: string | null;
}
interface Schema {
  assets: AssetsTable;
}

/** Dialects differ: Postgres returns int8 as strings. Normalise here, nowhere else. */
function toRecord(row: Selectable<AssetsTable>): AssetRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as MediaKind,
    mimeType: row.mime_type,
    ext: row.ext,
    width: Number(row.width),
    height: Number(row.height),
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    sizeBytes: Number(row.size_bytes),
    md5: row.md5,
    sha256: row.sha256,
    blobKey: row.blob_key,
    createdAt: new Date(Number(row.created_at)),
    ...(row.thumbhash === null ? {} : { thumbhash: row.thumbhash }),
    ...(row.dominant_color === null ? {} : { dominantColor: row.dominant_color }),
  };
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new DatabaseUnavailable(`database error: ${(err as Error).message}`, { cause: err });
  }
}

export class KyselyAssetRepository implements AssetRepository {
  /** `writer`: SQLite files insert from a worker thread, group-committed (sqlite-writer.ts). */
  constructor(
    readonly db: Kysely<Schema>,
    private readonly writer?: SqliteRowWriter,
  ) {}

  insert(a: AssetRecord): Promise<void> {
    return guard(async () => {
      if (this.writer) await this.writer.insert(toRow(a));
      else await this.db.insertInto('assets').values(toRow(a)).execute();
    });
  }

  setPlaceholders(id: string, p: { thumbhash: string; dominantColor: string }): Promise<void> {
    return guard(async () => {
      await this.db
        .updateTable('assets')
        .set({ thumbhash: p.thumbhash, dominant_color: p.dominantColor })
        .where('id', '=', id)
        .execute();
    });
  }

  findById(id: string): Promise<AssetRecord | null> {
    return guard(async () => {
      const row = await this.db.selectFrom('assets').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  async list(query: ListQuery): Promise<AssetPage> {
    // Decoded outside guard(): a bad cursor is the client's error, not the database's.
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
    return guard(async () => {
      let select = this.db.selectFrom('assets').selectAll();
      if (after !== null) {
        // Keyset paging on the (created_at, id) index: stable under concurrent inserts and deletes.
        // A row-value comparison, not the equivalent OR: SQLite only seeks the index with the former.
        select = select.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(after.createdAtMs, after.id)));
      }
      if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
      if (query.q !== undefined && query.q !== '') {
        // lower() on both sides: SQLite's LIKE ignores ASCII case, Postgres' does not.
        select = select.where(sql<boolean>`lower(name) like ${likeContains(query.q)} escape '\\'`);
      }
      // One extra row tells whether another page exists without a count(*).
      const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit + 1).execute();
      const items = rows.slice(0, query.limit).map(toRecord);
      const last = items[items.length - 1];
      const nextCursor =
        rows.length > query.limit && last ? encodeCursor({ createdAtMs: last.createdAt.getTime(), id: last.id }) : null;
      return { items, nextCursor };
    });
  }

  delete(id: string): Promise<boolean> {
    return guard(async () => {
      const res = await this.db.deleteFrom('assets').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  countByBlobKey(blobKey: string): Promise<number> {
    return guard(async () => {
      const row = await this.db
        .selectFrom('assets')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('blob_key', '=', blobKey)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  check(): Promise<void> {
    return guard(async () => {
      await this.db.selectFrom('assets').select('id').limit(1).execute();
    });
  }

  async close(): Promise<void> {
    await this.writer?.close();
    await this.db.destroy();
  }

  // For `ams migrate-db` (copying rows between databases), not part of the AssetRepository contract.

  /** Up to `limit` rows with ids after `afterId`, in id order: a stable cursor over the whole table. */
  pageAfter(afterId: string, limit: number): Promise<AssetRecord[]> {
    return guard(async () => {
      const rows = await this.db.selectFrom('assets').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
      return rows.map(toRecord);
    });
  }

  findByIds(ids: readonly string[]): Promise<AssetRecord[]> {
    return guard(async () => {
      if (ids.length === 0) return [];
      const rows = await this.db.selectFrom('assets').selectAll().where('id', 'in', [...ids]).execute();
      return rows.map(toRecord);
    });
  }

  /** Inserts the rows whose id is not there yet (a resumed copy); returns how many were new. */
  insertMissing(assets: readonly AssetRecord[]): Promise<number> {
    return guard(async () => {
      if (assets.length === 0) return 0;
      const res = await this.db
        .insertInto('assets')
        .values(assets.map(toRow))
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0);
    });
  }
}

function toRow(a: AssetRecord) {
  return {
    id: a.id,
    name: a.name,
    kind: a.kind,
    mime_type: a.mimeType,
    ext: a.ext,
    width: a.width,
    height: a.height,
    duration_ms: a.durationMs,
    size_bytes: a.sizeBytes,
    md5: a.md5,
    sha256: a.sha256,
    blob_key: a.blobKey,
    created_at: a.createdAt.getTime(),
    thumbhash: a.thumbhash ?? null,
    dominant_color: a.dominantColor ?? null,
  };
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrate(db: Kysely<any>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error) {
    // No failed migration means none ran: the database itself could not be opened or read.
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const what = failed === undefined ? 'database migrations could not run' : `database migration ${failed} failed`;
    throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Opens the database named by `url` (`postgres://…`, `sqlite:<path>` or a bare path) and migrates it.
 * WAL lets readers proceed during a write and is safe across processes on one machine.
 */
export async function openRepository(url: string): Promise<KyselyAssetRepository> {
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgresRepository(url);
  const file = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  // The driver's own messages ("unable to open database file") do not say which file.
  const unusable = (err: unknown) =>
    new DatabaseUnavailable(`cannot open the SQLite database ${file}: ${(err as Error).message}`, { cause: err });
  try {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (err) {
    throw unusable(err);
  }
  const db = new Kysely<Schema>({
    dialect: new SqliteDialect({
      database: async () => {
        const sqlite = new Database(file);
        sqlite.pragma('journal_mode = WAL');
        sqlite.pragma('synchronous = FULL');
        sqlite.pragma('busy_timeout = 5000');
        cachePreparedStatements(sqlite);
        return sqlite;
      },
    }),
  });
  try {
    await migrate(db);
  } catch (err) {
    await db.destroy();
    throw unusable(err);
  }
  // A second connection to ':memory:' would be another, empty database: that one inserts in place.
  return new KyselyAssetRepository(db, file === ':memory:' ? undefined : new SqliteRowWriter(file, 'assets'));
}

/**
 * Opens a PostgreSQL database and migrates it. Several instances may start at once: Kysely's
 * migrator takes an advisory lock, so each migration runs exactly once.
 */
async function openPostgresRepository(url: string): Promise<KyselyAssetRepository> {
  // pg is loaded only when PostgreSQL is configured (less heap for every garbage collection to mark).
  const { createPostgresDb, redactUrl } = await import('./postgres.js');
  const db = createPostgresDb(url);
  try {
    await migrate(db);
  } catch (err) {
    await db.destroy();
    throw new DatabaseUnavailable(`cannot use the PostgreSQL database ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  return new KyselyAssetRepository(db as Kysely<Schema>);
}
