import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` that sits beside the module at `besideUrl` (pass
 * `import.meta.url`): `.js` when compiled, `.ts` when run from source under tsx. A worker does not
 * inherit tsx's loader (Node 20), so from source the thread registers it before importing.
 */
export function startWorker(besideUrl: string, name: string, workerData?: unknown): Worker {
  const ext = path.extname(fileURLToPath(besideUrl));
  const thread = new URL(`./${name}${ext}`, besideUrl).href;
  if (ext === '.js') return new Worker(new URL(thread), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(thread)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
