import type { Config } from '../config.js';
import { createRuntime, type Runtime } from '../deps.js';
import { configOrExit } from './config.js';

/** Something went wrong that the operator can fix; printed without a stack, exit code 1 (or `code`). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * The configured backends for a maintenance command, opened exactly as the server opens them,
 * except that temp files are never swept: a running server may be receiving an upload.
 */
export async function withRuntime<T>(work: (runtime: Runtime, config: Readonly<Config>) => Promise<T>): Promise<T> {
  const config = configOrExit();
  let runtime: Runtime;
  try {
    runtime = await createRuntime(config, { sweepTemp: false });
  } catch (err) {
    throw new CliError(`cannot open the data directory ${config.dataDir}: ${(err as Error).message}; check AMS_DATA_DIR`);
  }
  try {
    return await work(runtime, config);
  } finally {
    await runtime.close();
  }
}
