import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { copyBlobs } from '../../blob/copy.js';
import { openBlobStore } from '../../blob/open.js';
import { ConfigError, loadConfig, type Config } from '../../config.js';
import type { StorageConfig } from '../../config-backends.js';
import { configOrExit } from '../config.js';

/**
 * A store named on the command line: `fs` (the data directory's blobs), `fs:<data dir>`, or `s3`
 * (the bucket the AMS_S3_* variables describe, whatever AMS_STORAGE says).
 */
export function storageNamed(name: string, config: Readonly<Config>, env: NodeJS.ProcessEnv = process.env): StorageConfig {
  if (name === 'fs') return { kind: 'fs', root: path.join(config.dataDir, 'blobs') };
  if (name.startsWith('fs:') && name.length > 3) return { kind: 'fs', root: path.join(path.resolve(name.slice(3)), 'blobs') };
  if (name === 's3') {
    try {
      return loadConfig({ ...env, AMS_STORAGE: 's3' }).storage;
    } catch (err) {
      if (err instanceof ConfigError) throw new Error(`the S3 settings are incomplete:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`);
      throw err;
    }
  }
  throw new Error(`unknown store ${JSON.stringify(name)}: use fs, fs:<data dir> or s3`);
}

export function registerMigrateStorage(program: Command): void {
  program
    .command('migrate-storage')
    .description('copy every stored file from one store to another (e.g. the local disk to S3), verifying each MD5; rerun to resume')
    .requiredOption('--from <store>', 'fs (the data directory), fs:<data dir>, or s3 (the AMS_S3_* settings)')
    .requiredOption('--to <store>', 'fs, fs:<data dir>, or s3')
    .option('--prefix <prefix>', 'only keys starting with this, e.g. originals/', '')
    .option('--verify-existing', 're-hash files already in the target instead of trusting their size', false)
    .option('--concurrency <n>', 'files copied at once', '4')
    .action(async (opts: { from: string; to: string; prefix: string; verifyExisting: boolean; concurrency: string }) => {
      const config = configOrExit();
      const from = storageNamed(opts.from, config);
      const to = storageNamed(opts.to, config);
      if (JSON.stringify(from) === JSON.stringify(to)) throw new Error('--from and --to name the same store');
      const source = await openBlobStore(from);
      const target = await openBlobStore(to);
      // On a terminal: a live bar; in a log: a line every few seconds.
      const bar = new cliProgress.SingleBar(
        { format: 'copying [{bar}] {value}/{total} files, {mb} MB copied', noTTYOutput: true, notTTYSchedule: 5000, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
      let started = false;
      try {
        await source.blobs.check();
        await target.blobs.check();
        const report = await copyBlobs(source.blobs, target.blobs, {
          prefix: opts.prefix,
          verifyExisting: opts.verifyExisting,
          concurrency: Math.max(1, Math.min(64, Number(opts.concurrency) || 4)),
          onProgress: (p) => {
            if (!started) {
              bar.start(p.total, 0, { mb: '0.0' });
              started = true;
            }
            bar.update(p.done, { mb: (p.bytes / 1e6).toFixed(1) });
          },
        });
        bar.stop();
        for (const f of report.failed) process.stderr.write(`FAILED ${f.key}: ${f.reason}\n`);
        process.stdout.write(
          `${report.total} files: ${report.copied} copied (${report.bytesCopied} bytes), ${report.skipped} already there, ${report.failed.length} failed\n`,
        );
        if (report.failed.length > 0) {
          process.stderr.write('Some files were not copied; fix the cause above and run the same command again to finish.\n');
          process.exitCode = 1;
        }
      } finally {
        bar.stop();
        source.close();
        target.close();
      }
    });
}
