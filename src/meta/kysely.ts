import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Selectable } from 'kysely';
import { DatabaseUnavailable } from '../errors.js';
import type { MediaKind } from '../media/types.js';
import { migrationProvider } from './migrations/index.js';
import { cachePreparedStatements } from './statement-cache.js';
import type { AssetRecord, AssetRepository } from './repository.js';

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
  constructor(private readonly db: Kysely<Schema>) {}

  insert(a: AssetRecord): Promise<void> {
    return guard(async () => {
      await this.db
        .insertInto('assets')
        .values({
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
        })
        .execute();
    });
  }

  findById(id: string): Promise<AssetRecord | null> {
    return guard(async () => {
      const row = await this.db.selectFrom('assets').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : null;
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
    await this.db.destroy();
  }
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
 * Opens the database named by `url` (`sqlite:<path>` or a bare path) and migrates it.
 * WAL lets readers proceed during a write and is safe across processes on one machine.
 */
export async function openRepository(url: string): Promise<KyselyAssetRepository> {
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
  return new KyselyAssetRepository(db);
}
