import fs from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { AppDeps } from './app.js';
import { openBlobStore } from './blob/open.js';
import { ConfigError, type Config } from './config.js';
import { createMediaProbe } from './media/probe.js';
import { CachedAssetRepository } from './meta/cached.js';
import { openRepository } from './meta/kysely.js';
import { resolveTokens, type TokenSource } from './tokens.js';
import { IdempotencyStore } from './meta/idempotency.js';
import { sqliteFileProbe } from './meta/sqlite-probe.js';
import { untilAvailable } from './ops/startup-wait.js';

export interface Runtime {
  deps: AppDeps;
  tokenSource: TokenSource;
  /** The query builder behind the repository, for maintenance commands (ams verify, ams gc). */
  db: Kysely<any>;
  /** Releases the database and the probe; call after the server has closed. */
  close(): Promise<void>;
}

/**
 * Temp files left by a process that died mid-upload. The data directory belongs to one AMS
 * process (or one cluster primary), so at start-up no upload can be in flight: all of them go.
 */
async function sweepTempDir(tempDir: string): Promise<number> {
  await fs.mkdir(tempDir, { recursive: true });
  const names = await fs.readdir(tempDir);
  await Promise.all(names.map((n) => fs.rm(path.join(tempDir, n), { force: true, recursive: true })));
  return names.length;
}

/**
 * mkdir -p, by hand: Node 20's recursive fs.mkdir never returns for a path under /proc (it keeps
 * retrying ENOENT), which would hang the start instead of naming AMS_DATA_DIR.
 */
async function makeDirectory(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!(await fs.stat(dir)).isDirectory()) throw new Error(`${dir} exists and is not a directory`);
      return;
    }
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
    await makeDirectory(path.dirname(dir));
    // Once only (under /proc it fails again for ever); another process may just have made it.
    await fs.mkdir(dir).catch(async (again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST' || !(await fs.stat(dir)).isDirectory()) throw again;
    });
  }
}

/** The data directory, created if needed; a path that cannot be one is a bad AMS_DATA_DIR. */
async function prepareDataDir(dir: string): Promise<void> {
  try {
    await makeDirectory(dir);
    await fs.access(dir, fs.constants.W_OK);
  } catch (err) {
    throw new ConfigError([`AMS_DATA_DIR=${JSON.stringify(dir)}: cannot be used as the data directory (${(err as Error).message}); give a writable directory`]);
  }
}

/** Opens every backend named by the configuration: the embedded defaults are SQLite and the local disk. */
export async function createRuntime(
  config: Readonly<Config>,
  // Cluster workers pass false: the primary swept before forking, and a sibling's upload may be in flight.
  options: {
    sweepTemp?: boolean;
    /** Wait this long for an unreachable PostgreSQL or bucket (the server does; commands do not). */
    startupWaitMs?: number;
    say?: (line: string) => void;
  } = {},
): Promise<Runtime & { sweptTempFiles: number }> {
  await prepareDataDir(config.dataDir);
  const tempDir = path.join(config.dataDir, 'tmp');
  const sweptTempFiles =
    options.sweepTemp === false
      ? (await fs.mkdir(tempDir, { recursive: true }), 0)
      : (await sweepTempDir(tempDir)) + (await sweepTempDir(path.join(config.dataDir, 'blobs', '.staging')));
  const tokenSource = await resolveTokens(config.tokens, config.dataDir);
  const { database } = config;
  const waitMs = options.startupWaitMs ?? 0;
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const db = await untilAvailable('the database', () => openRepository(database.kind === 'postgres' ? database.url : `sqlite:${database.file}`), database.kind === 'postgres' ? waitMs : 0, say);
  const { cache } = config;
  const repo = cache.rows > 0 ? new CachedAssetRepository(db, { maxEntries: cache.rows, ttlMs: cache.rowTtlMs }) : db;
  // The open SQLite connection keeps answering after its file is gone; /readyz reads the file itself.
  const databaseProbe = database.kind === 'postgres' ? undefined : sqliteFileProbe(database.file);
  const store = await openBlobStore(config.storage);
  const blobs = store.blobs;
  try {
    await untilAvailable('the storage', () => blobs.check(), config.storage.kind === 's3' ? waitMs : 0, say);
  } catch (err) {
    store.close();
    await repo.close();
    throw err;
  }
  const probe = createMediaProbe({ maxPixels: config.maxPixels });
  return {
    deps: { config, tokens: tokenSource.tokens, blobs, repo, probe, tempDir, idempotency: new IdempotencyStore(db.db), databaseProbe },
    tokenSource,
    db: db.db,
    sweptTempFiles,
    async close() {
      await probe.close();
      await repo.close();
      store.close();
    },
  };
}
