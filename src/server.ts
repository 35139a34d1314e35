import cluster from 'node:cluster';
import { pino } from 'pino';
import { buildApp } from './app.js';
import { ConfigError, type Config } from './config.js';
import { createRuntime } from './deps.js';
import { runPrimary } from './ops/cluster.js';
import { joinClusterMetrics } from './ops/cluster-metrics.js';
import { joinClusterRateLimits } from './ops/cluster-rate-limit.js';
import { InFlight } from './ops/in-flight.js';
import { tuneHeapGrowth } from './ops/heap-growth.js';
import { BatchedLogStream } from './ops/log-stream.js';
import { closeGracefully } from './ops/shutdown.js';

function printBanner(base: string, token: string, file: string | null): void {
  process.stdout.write(
    `\nAMS generated an upload token (kept in ${file ?? 'the data directory'}, shown only this once):\n\n  ${token}\n\n` +
      `Upload a file with:\n\n  curl -H "Authorization: Bearer ${token}" -F "Filename=@photo.jpg" ${base}/assets\n\n`,
  );
}

/** listen() failures that a setting explains, named so the operator knows what to change. */
function listenProblem(err: unknown, config: Readonly<Config>): ConfigError | null {
  const code = (err as NodeJS.ErrnoException).code;
  const host = `AMS_HOST=${JSON.stringify(config.host)}`;
  const port = `AMS_PORT=${JSON.stringify(String(config.port))}`;
  if (code === 'ENOTFOUND') return new ConfigError([`${host}: no such host name; give an address of this machine, e.g. 127.0.0.1 or 0.0.0.0`]);
  if (code === 'EADDRNOTAVAIL') return new ConfigError([`${host}: not an address of this machine; give one of its own, e.g. 127.0.0.1 or 0.0.0.0`]);
  if (code === 'EADDRINUSE') return new ConfigError([`${port}: another process already listens there; stop it or choose another port`]);
  if (code === 'EACCES') return new ConfigError([`${port}: this user may not listen there (ports below 1024 need privileges); choose another port`]);
  return null;
}

/**
 * Opens the backends, builds the app, listens; SIGTERM/SIGINT close it gracefully. With
 * AMS_WORKERS > 1 this process becomes the cluster primary and each worker runs this again.
 */
export async function runServer(config: Readonly<Config>): Promise<void> {
  tuneHeapGrowth();
  if (config.ops.workers > 1 && cluster.isPrimary) {
    return runPrimary(config, (base, token) => printBanner(base, token, null));
  }
  const runtime = await createRuntime(config, { sweepTemp: cluster.isPrimary, startupWaitMs: config.startupWaitMs });
  const inFlight = new InFlight();
  const clusterMetrics = cluster.isWorker ? joinClusterMetrics : undefined;
  const uploadLimiter = cluster.isWorker ? joinClusterRateLimits(config.ops) : undefined;
  // Log lines are buffered (written once 4 KB have gathered, or every 250 ms) instead of one
  // write(2) per line on the event loop, which was ~8 % of the CPU under W2's load. What is still
  // buffered is written when the process exits; a kill -9 can lose the last 250 ms of lines.
  // Cluster workers share stdout: only writes of at most PIPE_BUF (4 KiB) are atomic on a pipe, so
  // each of them writes whole lines, one at a time, or lines of two workers could interleave.
  const logStream = new BatchedLogStream(pino.destination({ dest: 1, sync: true }), cluster.isWorker ? 0 : 4096);
  setInterval(() => logStream.flush(), 250).unref();
  process.once('exit', () => {
    try {
      logStream.flushSync();
    } catch {
      // stdout already gone: nothing to save
    }
  });
  const logger = { level: config.logLevel, stream: logStream };
  const app = await buildApp({ ...runtime.deps, inFlight, clusterMetrics, uploadLimiter, logger });
  if (runtime.sweptTempFiles > 0) app.log.info({ count: runtime.sweptTempFiles }, 'removed stale temporary upload files');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal, uploads: inFlight.size, deadlineMs: config.ops.shutdownTimeoutMs }, 'shutting down');
    await closeGracefully(app, inFlight, config.ops.shutdownTimeoutMs);
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const { generated, file } = runtime.tokenSource;
  let announced = false;
  try {
    await app.listen({
      port: config.port,
      host: config.host,
      // Printed here, just before the "Server listening" line, so whoever waits for that line
      // (a supervisor, a test) already has the token banner. Called once per bound address.
      listenTextResolver: (address) => {
        if (generated !== null && !announced) {
          announced = true;
          printBanner(config.publicUrl ?? `http://localhost:${address.split(':').pop()}`, generated, file);
        }
        return `Server listening at ${address}`;
      },
    });
  } catch (err) {
    const problem = listenProblem(err, config);
    if (problem === null) throw err;
    await runtime.close();
    throw problem;
  }
  if (generated === null && file !== null) app.log.info({ file }, 'using the upload token stored in the data directory');
}
