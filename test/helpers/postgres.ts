import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for tests. `.ci/run` sets AMS_TEST_POSTGRES_URL; when it is set the Postgres tests run
 * and fail if the server is unreachable. Unset (a laptop without Postgres), they are reported as
 * skipped with this reason — never silently passed.
 */
export const POSTGRES_URL = process.env.AMS_TEST_POSTGRES_URL?.trim() || undefined;
export const NO_POSTGRES = POSTGRES_URL === undefined ? 'AMS_TEST_POSTGRES_URL is not set' : false;

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  if (POSTGRES_URL === undefined) throw new Error('AMS_TEST_POSTGRES_URL is not set');
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, uniquely named database on the test server; `drop` removes it (closing stray connections). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `ams_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(POSTGRES_URL as string);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => dropDatabase(name),
  };
}

/**
 * Drops a test database. pg's Pool.end() resolves before its clients' sockets have closed, so a
 * DROP … WITH (FORCE) straight after it can terminate a connection that is still closing, and that
 * client then throws "terminating connection due to administrator command" into whichever test
 * runs next. A plain DROP is retried while the last connections go (bounded), FORCE only after.
 */
async function dropDatabase(name: string): Promise<void> {
  await admin(async (c) => {
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006') throw error; // object_in_use
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
}
