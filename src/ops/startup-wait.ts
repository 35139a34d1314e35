import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseUnavailable, StorageUnavailable } from '../errors.js';

/**
 * Retries opening a networked backend (PostgreSQL, an S3 bucket) at start-up, for up to `waitMs`:
 * in a compose file or a rolling restart the database often comes up after AMS does, and failing
 * at once only makes the orchestrator restart us in a loop. Only "unavailable" errors are retried
 * (anything else is a configuration mistake that waiting cannot fix); each retry says why on
 * stderr. Once running, AMS rides out outages by itself (503s, then recovery).
 */
export async function untilAvailable<T>(what: string, open: () => Promise<T>, waitMs: number, say: (line: string) => void): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await open();
    } catch (err) {
      const retryable = err instanceof DatabaseUnavailable || err instanceof StorageUnavailable;
      const left = deadline - Date.now();
      if (!retryable || left <= 0) throw err;
      const wait = Math.min(delay, left);
      say(`${what} is not reachable yet (${(err as Error).message}); retrying in ${(wait / 1000).toFixed(1)} s, giving up in ${Math.ceil(left / 1000)} s (AMS_STARTUP_WAIT_S)`);
      await sleep(wait);
    }
  }
}
