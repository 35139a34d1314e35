import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrate } from '../../src/meta/kysely.js';
import { IdempotencyStore } from '../../src/meta/idempotency.js';
import { NO_POSTGRES, createTestDatabase } from '../helpers/postgres.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const T0 = new Date('2030-01-01T00:00:00Z');
const later = (s: number) => new Date(T0.getTime() + s * 1000);

/** The Idempotency-Key store on a freshly migrated database (migration 0003 included). */
function idempotencyContract(name: string, open: () => Promise<{ db: Kysely<any>; done: () => Promise<void> }>, skip: string | false = false): void {
  describe(`IdempotencyStore contract: ${name}`, { skip }, () => {
    let db: Kysely<any>;
    let done: () => Promise<void>;
    let store: IdempotencyStore;
    before(async () => {
      ({ db, done } = await open());
      await migrate(db);
      store = new IdempotencyStore(db);
    });
    after(() => done());

    it('reserves once; a second reservation sees the first (in progress, then its response)', async () => {
      assert.equal(await store.reserve('p\nk1', SHA_A, T0, 60), null);
      assert.deepEqual(await store.reserve('p\nk1', SHA_A, T0, 60), { sha256: SHA_A, response: null });
      await store.complete('p\nk1', '{"id":"x"}');
      assert.deepEqual(await store.reserve('p\nk1', SHA_B, later(1), 60), { sha256: SHA_A, response: '{"id":"x"}' });
    });

    it('concurrent reservations of one key: exactly one wins', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => store.reserve('p\nrace', SHA_A, T0, 60)));
      assert.equal(results.filter((r) => r === null).length, 1);
    });

    it('release frees an unfinished key, never a completed one', async () => {
      await store.reserve('p\nk2', SHA_A, T0, 60);
      await store.release('p\nk2');
      assert.equal(await store.reserve('p\nk2', SHA_B, T0, 60), null);
      await store.complete('p\nk2', '{}');
      await store.release('p\nk2');
      assert.deepEqual(await store.reserve('p\nk2', SHA_A, T0, 60), { sha256: SHA_B, response: '{}' });
    });

    it('an expired key is forgotten: reusable, and purged', async () => {
      await store.reserve('p\nk3', SHA_A, T0, 10);
      await store.complete('p\nk3', '{}');
      assert.equal(await store.reserve('p\nk3', SHA_B, later(10), 10), null, 'reusable at its expiry');
      await store.reserve('p\nk4', SHA_A, T0, 5);
      assert.ok((await store.purgeExpired(later(3600))) >= 1);
      assert.equal(await store.reserve('p\nk4', SHA_B, later(3600), 5), null);
    });
  });
}

idempotencyContract('SQLite', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-idem-'));
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: async () => new Database(path.join(dir, 'db.sqlite')) }) });
  return { db, done: async () => (await db.destroy(), await fs.rm(dir, { recursive: true, force: true })) };
});

// Runs whenever AMS_TEST_POSTGRES_URL is set (CI), and then fails if PostgreSQL is unreachable.
idempotencyContract(
  'PostgreSQL',
  async () => {
    const database = await createTestDatabase();
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 4 }) }) });
    return { db, done: async () => (await db.destroy(), await database.drop()) };
  },
  NO_POSTGRES,
);
