import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createRuntime } from './deps.js';

/** Opens the backends, builds the app, listens; SIGTERM/SIGINT close it gracefully. */
export async function runServer(config: Readonly<Config>): Promise<void> {
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
