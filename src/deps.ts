import fs from 'node:fs/promises';
import path from 'node:path';
import type { AppDeps } from './app.js';
import { openBlobStore } from './blob/open.js';
import type { Config } from './config.js';
import { createMediaProbe } from './media/probe.js';
import { openRepository } from './meta/kysely.js';
import { resolveTokens, type TokenSource } from './tokens.js';

export interface Runtime {
  deps: AppDeps;
  tokenSource: TokenSource;
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

/** Opens every backend named by the configuration: the embedded defaults are SQLite and the local disk. */
export async function createRuntime(config: Readonly<Config>): Promise<Runtime & { sweptTempFiles: number }> {
  const tempDir = path.join(config.dataDir, 'tmp');
  const sweptTempFiles = (await sweepTempDir(tempDir)) + (await sweepTempDir(path.join(config.dataDir, 'blobs', '.staging')));
  const tokenSource = await resolveTokens(config.tokens, config.dataDir);
  const { database } = config;
  const repo = await openRepository(database.kind === 'postgres' ? database.url : `sqlite:${database.file}`);
  const store = openBlobStore(config.storage);
  const blobs = store.blobs;
  try {
    await blobs.check();
  } catch (err) {
    store.close();
    await repo.close();
    throw err;
  }
  const probe = createMediaProbe({ maxPixels: config.maxPixels });
  return {
    deps: { config, tokens: tokenSource.tokens, blobs, repo, probe, tempDir },
    tokenSource,
    sweptTempFiles,
    async close() {
      await probe.close();
      await repo.close();
      store.close();
    },
  };
}
