#!/usr/bin/env node
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createRuntime } from './deps.js';

/** config → deps → app → listen; SIGTERM/SIGINT → graceful close. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nFix the variables above and start again (see README: Configuration).\n`);
      process.exit(2);
    }
    throw err;
  }
  const runtime = await createRuntime(config);
  const app = await buildApp(runtime.deps);
  if (runtime.sweptTempFiles > 0) app.log.info({ count: runtime.sweptTempFiles }, 'removed stale temporary upload files');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const base = config.publicUrl ?? `http://localhost:${typeof address === 'object' && address ? address.port : config.port}`;
  const { generated, file } = runtime.tokenSource;
  if (generated !== null) {
    process.stdout.write(
      `\nAMS generated an upload token (kept in ${file}, shown only this once):\n\n  ${generated}\n\n` +
        `Upload a file with:\n\n  curl -H "Authorization: Bearer ${generated}" -F "Filename=@photo.jpg" ${base}/assets\n\n`,
    );
  } else if (file !== null) {
    app.log.info({ file }, 'using the upload token stored in the data directory');
  }
}

main().catch((err) => {
  process.stderr.write(`AMS could not start: ${(err as Error).message}\n`);
  process.exit(1);
});
