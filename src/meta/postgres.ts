import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * A Kysely instance on a pg pool. Connections are made on demand, so when PostgreSQL goes away
 * the requests of that moment fail (503) and the next ones reconnect by themselves: no restart.
 */
export function createPostgresDb(url: string, onIdleError: (err: Error) => void = () => {}): Kysely<any> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // Fail fast when the database is unreachable, rather than holding the request until the client gives up.
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // A database that stops answering (a partition rather than a refusal) must not hold requests
    // forever either: every query of ours is small, so 15 s means it is gone.
    query_timeout: 15_000,
    keepAlive: true,
  });
  // A pooled connection killed by a server restart emits 'error' on the pool; unhandled, that would end the process.
  pool.on('error', onIdleError);
  // A connection that dies while checked out (its query in flight, or just handed out before the
  // close was noticed) fails that query — and also emits 'error' on the client, where the pool has
  // no listener: unhandled, that would end the process. The query's own error is what we report.
  pool.on('connect', (client) => client.on('error', onIdleError));
  return new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
}
