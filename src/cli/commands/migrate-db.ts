import path from 'node:path';
import type { Command } from 'commander';
import { copyAssetRows } from '../../meta/copy.js';
import { openRepository } from '../../meta/kysely.js';
import { redactUrl } from '../../meta/postgres.js';
import { configOrExit } from '../config.js';

/** The configured database as openRepository takes it. */
function configuredDatabaseUrl(): string {
  const { database } = configOrExit();
  return database.kind === 'postgres' ? database.url : `sqlite:${database.file}`;
}

const shown = (url: string) => (url.startsWith('postgres') ? redactUrl(url) : url);

/** `ams migrate`: applies pending schema migrations (the server also does so at start-up). */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations to the configured database (AMS_DATABASE_URL), then exit')
    .action(async () => {
      const url = configuredDatabaseUrl();
      const repo = await openRepository(url);
      await repo.close();
      process.stdout.write(`${shown(url)} is at the latest schema\n`);
    });
}

/** `ams migrate-db`: moves the rows from SQLite to PostgreSQL (or between any two databases). */
export function registerMigrateDb(program: Command): void {
  program
    .command('migrate-db')
    .description('copy every asset row from one database to another (default: the data directory\'s SQLite → AMS_DATABASE_URL); rerun to resume')
    .option('--from <url>', 'source database: sqlite:<file> or postgres://… (default: <AMS_DATA_DIR>/ams.sqlite)')
    .option('--to <url>', 'target database (default: AMS_DATABASE_URL)')
    .action(async (opts: { from?: string; to?: string }) => {
      const config = configOrExit();
      const from = opts.from ?? `sqlite:${path.join(config.dataDir, 'ams.sqlite')}`;
      const to = opts.to ?? configuredDatabaseUrl();
      if (from === to) throw new Error(`--from and --to are the same database (${shown(from)}); set AMS_DATABASE_URL or --to`);
      const source = await openRepository(from);
      try {
        const target = await openRepository(to);
        try {
          const report = await copyAssetRows(source, target, (done) => process.stderr.write(`copied ${done} rows…\n`));
          process.stdout.write(
            `${report.total} rows from ${shown(from)} to ${shown(to)}: ${report.inserted} inserted, ${report.skipped} already there, ${report.conflicts.length} conflicting\n`,
          );
          if (report.conflicts.length > 0) {
            process.stderr.write(`These ids exist in the target with different fields and were left alone:\n${report.conflicts.join('\n')}\n`);
            process.exitCode = 1;
          }
        } finally {
          await target.close();
        }
      } finally {
        await source.close();
      }
    });
}
