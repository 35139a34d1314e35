import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareMedia } from './media.js';
import { LOADGEN_CORE, PINNED, SERVER_CORE, ensureNginx } from './servers.js';
import { table, type Row } from './stats.js';
import { ensureWrk } from './wrk.js';
import { benchW1, benchW2, benchW3, benchW4, benchW5 } from './workloads.js';

/**
 * `npm run bench`: AMS against its ceilings, each workload 3 times, servers on core 0 and this
 * load generator on core 1. `--write` also saves the table to bench/RESULTS.md.
 * BENCH_SECONDS (default 5) sets the length of each timed run; BENCH_ONLY=W1,W3 picks workloads.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const only = (process.env.BENCH_ONLY ?? 'W1,W2,W3,W4,W5').split(',');

ensureNginx();
ensureWrk();
// All threads of the load generator (autocannon, sharp's pool) on the other core than the servers.
if (PINNED) execFileSync('taskset', ['-a', '-cp', LOADGEN_CORE, String(process.pid)], { stdio: 'ignore' });

const loadBefore = os.loadavg();
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-bench-'));
const media = await prepareMedia(path.join(os.tmpdir(), 'ams-bench-media'), path.join(ROOT, 'test/fixtures/media'));
const notes: string[] = [];
const rows: Row[] = [];
try {
  if (only.includes('W1')) rows.push(...(await benchW1(work, media)));
  if (only.includes('W2')) rows.push(...(await benchW2(work, media)));
  let w3small = null;
  if (only.includes('W3')) {
    const r = await benchW3(work, media);
    rows.push(...r.rows);
    w3small = r.amsSmall;
  }
  if (only.includes('W4')) rows.push(...(await benchW4(work, media, w3small, notes)));
  if (only.includes('W5')) rows.push(...(await benchW5(work, media)));
} finally {
  await fs.rm(work, { recursive: true, force: true });
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = [
  `Run ${new Date().toISOString()} on ${os.cpus().length}× ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}, Node ${process.version}; load average before the run: ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
  PINNED ? `Servers pinned to core ${SERVER_CORE}, load generators (wrk for GETs, autocannon for W1 uploads, node:http for the 20 MB file, curl for W5) to core ${LOADGEN_CORE} (taskset).` : 'Not pinned (fewer than 2 cores or no taskset).',
  `Each figure: median of 3 runs of ${process.env.BENCH_SECONDS ?? 5} s (min–max), after a warm-up run.`,
].join('\n');
const out = `${header}\n\n${table(rows)}\n${notes.length ? `\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
process.stdout.write(`\n${out}\n`);
if (process.argv.includes('--write')) {
  const file = path.join(ROOT, 'bench/RESULTS.md');
  const existing = await fs.readFile(file, 'utf8').catch(() => '');
  const marker = '<!-- bench:table -->';
  const [intro] = existing.split(marker);
  await fs.writeFile(file, `${(intro ?? '').trimEnd() || '# Benchmark results'}\n\n${marker}\n${out}`);
  process.stdout.write(`written to ${file}\n`);
}
