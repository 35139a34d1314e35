import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { BlobNotFound } from '../../errors.js';
import { countBlobs, storedBlobs, type StoredBlob } from '../../meta/maintenance.js';
import type { BlobStore } from '../../blob/store.js';
import { CliError, withRuntime } from '../runtime.js';

type Verdict = { ok: true } | { ok: false; problem: 'missing' | 'corrupt'; detail: string };

/** Re-reads one blob completely and compares size, MD5 and SHA-256 with what the rows recorded. */
async function check(blobs: BlobStore, b: StoredBlob, onBytes: (n: number) => void): Promise<Verdict> {
  let stream;
  try {
    stream = await blobs.get(b.blobKey);
  } catch (err) {
    if (err instanceof BlobNotFound) return { ok: false, problem: 'missing', detail: 'no blob at this key' };
    throw err;
  }
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    md5.update(chunk);
    sha.update(chunk);
    size += chunk.length;
    onBytes(chunk.length);
  }
  if (size !== b.sizeBytes) return { ok: false, problem: 'corrupt', detail: `${size} bytes, expected ${b.sizeBytes}` };
  const got = md5.digest('hex');
  if (got !== b.md5) return { ok: false, problem: 'corrupt', detail: `MD5 ${got}, expected ${b.md5}` };
  if (sha.digest('hex') !== b.sha256) return { ok: false, problem: 'corrupt', detail: 'SHA-256 differs' };
  return { ok: true };
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('re-read every stored original, check its size, MD5 and SHA-256, report corrupt or missing blobs (exit 1 if any)')
    .option('--json', 'print one JSON object per problem and a summary, for machines')
    .action(async (opts: { json?: boolean }) => {
      const bad = await withRuntime(async ({ deps, db }) => {
        const total = await countBlobs(db);
        // Drawn on stderr, and only on a terminal: stdout stays a clean report.
        const bar = new SingleBar({ format: 'verify [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr });
        bar.start(total.bytes, 0);
        let checked = 0;
        const problems: Array<StoredBlob & { problem: string; detail: string }> = [];
        for await (const b of storedBlobs(db)) {
          const v = await check(deps.blobs, b, (n) => bar.increment(n));
          checked++;
          if (!v.ok) problems.push({ ...b, problem: v.problem, detail: v.detail });
        }
        bar.stop();
        for (const p of problems) {
          process.stdout.write(
            opts.json
              ? `${JSON.stringify({ problem: p.problem, blobKey: p.blobKey, detail: p.detail, assetIds: p.assetIds })}\n`
              : `${p.problem.toUpperCase()} ${p.blobKey}: ${p.detail} (assets ${p.assetIds.join(', ')})\n`,
          );
        }
        const summary = { checked, corrupt: problems.filter((p) => p.problem === 'corrupt').length, missing: problems.filter((p) => p.problem === 'missing').length };
        process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : `checked ${checked} blobs: ${summary.corrupt} corrupt, ${summary.missing} missing\n`);
        return problems.length;
      });
      if (bad > 0) {
        throw new CliError('some stored files are damaged or gone: restore them from a backup (the assets listed above), or delete those assets', 1);
      }
    });
}
