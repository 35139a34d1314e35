import type { FastifyInstance } from 'fastify';
import type { InFlight } from './in-flight.js';

/**
 * Graceful stop: refuse new connections (and answer new requests on kept-alive ones with 503),
 * let in-flight requests — uploads above all — finish within `deadlineMs`, then cut the remaining
 * connections. A cut upload fails in its own handler, whose undo list removes its temp file and
 * idempotency reservation; we wait for those cleanups before the database is closed, so an
 * aborted upload leaves no row and no file.
 */
export async function closeGracefully(app: FastifyInstance, inFlight: InFlight, deadlineMs: number): Promise<void> {
  const closed = app.close();
  const timer = setTimeout(() => {
    app.log.warn({ uploads: inFlight.size }, 'shutdown deadline reached; aborting the remaining requests');
    app.server.closeAllConnections();
  }, deadlineMs);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
  // Cleanups after an abort are local file removals and one row delete: seconds at most.
  if (!(await inFlight.idle(10_000))) app.log.error({ uploads: inFlight.size }, 'uploads still cleaning up at exit');
}
