import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { BlobStore } from '../../blob/store.js';
import { isReferenced } from '../../meta/maintenance.js';
import { IdempotencyStore } from '../../meta/idempotency.js';
import { withRuntime } from '../runtime.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** The content hash a blob key belongs to: originals/aa/bb/<sha256>, derivatives/aa/bb/<sha256>/… */
export function hashOfKey(key: string): string | null {
  const parts = key.split('/');
  const sha = parts[0] === 'originals' ? parts[3] : parts[0] === 'derivatives' ? parts[3] : undefined;
  return sha !== undefined && HEX64.test(sha) ? sha : null;
}

async function stillOld(blobs: BlobStore, key: string, cutoff: number): Promise<boolean> {
  for await (const e of blobs.list(key)) if (e.key === key) return e.modifiedAt.getTime() < cutoff;
  return false;
}

/** Files directly in `dir` older than `cutoff` (temp uploads, staging parts); none if `dir` is absent. */
async function staleFiles(dir: string, cutoff: number): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names) {
    const st = await fs.stat(path.join(dir, n)).catch(() => null);
    if (st?.isFile() && st.mtimeMs < cutoff) out.push(path.join(dir, n));
  }
  return out;
}

export function registerGc(program: Command): void {
  program
    .command('gc')
    .description('remove blobs no asset references (older than AMS_GC_GRACE_S), stale temporary files and expired idempotency keys')
    .option('--dry-run', 'only list what would be removed')
    .action(async (opts: { dryRun?: boolean }) => {
      await withRuntime(async ({ deps, db }, config) => {
        const now = Date.now();
        // The grace period protects an upload between "blob stored" and "row committed".
        const cutoff = now - config.ops.gcGraceS * 1000;
        const verb = opts.dryRun ? 'would remove' : 'removed';
        let count = 0;
        let bytes = 0;
        for (const prefix of ['originals/', 'derivatives/']) {
          for await (const entry of deps.blobs.list(prefix)) {
            const sha = hashOfKey(entry.key);
            if (sha === null || entry.modifiedAt.getTime() >= cutoff) continue;
            // Checked per blob, just before the delete, to keep the window with a new upload small:
            // first the rows, then the blob's age again (an upload of the same bytes refreshes it
            // before it commits its row).
            if (await isReferenced(db, sha)) continue;
            if (!(await stillOld(deps.blobs, entry.key, cutoff))) continue;
            if (!opts.dryRun) await deps.blobs.delete(entry.key);
            process.stdout.write(`${verb} blob ${entry.key} (${entry.size} bytes)\n`);
            count++;
            bytes += entry.size;
          }
        }
        const temp = [...(await staleFiles(deps.tempDir, cutoff)), ...(await staleFiles(path.join(config.dataDir, 'blobs', '.staging'), cutoff))];
        for (const f of temp) {
          if (!opts.dryRun) await fs.rm(f, { force: true });
          process.stdout.write(`${verb} temporary file ${f}\n`);
        }
        const idempotency = new IdempotencyStore(db);
        const keys = opts.dryRun ? await idempotency.countExpired(new Date(now)) : await idempotency.purgeExpired(new Date(now));
        process.stdout.write(`${verb} ${count} unreferenced blobs (${bytes} bytes), ${temp.length} temporary files, ${keys} expired idempotency keys\n`);
      });
    });
}
