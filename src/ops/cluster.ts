import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config.js';
import { createRuntime } from '../deps.js';
import { serveClusterMetrics } from './cluster-metrics.js';
import { serveClusterRateLimits } from './cluster-rate-limit.js';

/**
 * AMS_WORKERS=N: the primary prepares the data directory once (sweeps stale temp files, creates
 * the token, migrates the database), then forks N workers that share the port (node:cluster hands
 * each connection to one worker) and the data directory. Workers never sweep temp files: another
 * worker's upload may be in flight. SQLite in WAL mode is safe across processes on one machine.
 */
export async function runPrimary(config: Readonly<Config>, banner: (base: string, token: string) => void): Promise<void> {
  const prep = await createRuntime(config, { startupWaitMs: config.startupWaitMs });
  await prep.close();
  const generated = prep.tokenSource.generated;

  let stopping = false;
  let recentExits: number[] = [];
  const fork = (): Worker => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    // Exit code 2 is a setting the worker could not use (AMS_HOST, AMS_PORT…): a new worker would fail alike.
    if (code === 2) {
      stopping = true;
      process.exitCode = 2;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(2);
      return;
    }
    // A crashed worker is replaced so the port keeps its capacity; a worker that cannot start at
    // all (port taken, database unreadable) would crash forever, so a burst of exits ends the primary.
    const now = Date.now();
    recentExits = recentExits.filter((t) => now - t < 60_000).concat(now);
    if (recentExits.length > 2 * config.ops.workers + 3) {
      process.stderr.write(`ams: workers keep exiting (last: ${signal ?? code}); stopping. See the errors above.\n`);
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    process.stderr.write(`ams: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    fork();
  });
  let announced = false;
  cluster.on('listening', (_worker, address) => {
    if (announced || generated === null) return;
    announced = true;
    banner(config.publicUrl ?? `http://localhost:${address.port}`, generated);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // Each worker closes gracefully on its own deadline; the primary only waits for them.
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  serveClusterMetrics();
  serveClusterRateLimits(config.ops);
  for (let i = 0; i < config.ops.workers; i++) fork();
}
