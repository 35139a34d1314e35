import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { DatabaseUnavailable } from '../../src/errors.js';
import { openRepository } from '../../src/meta/kysely.js';
import { createTestDatabase, NO_POSTGRES } from '../helpers/postgres.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

describe('PostgreSQL outages at the repository', { skip: NO_POSTGRES }, () => {
  test('connections cut under the pool: calls fail with DatabaseUnavailable, the process survives, the same repository recovers', async () => {
    const db = await createTestDatabase();
    const proxy = await startTcpProxy(Number(new URL(db.url).port || 5432), new URL(db.url).hostname);
    const url = new URL(db.url);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const repo = await openRepository(url.toString());
    try {
      // Several rounds, each cutting pooled connections that are idle or just being handed out:
      // before every client kept an 'error' listener, one of these ended the whole process.
      for (let round = 0; round < 5; round++) {
        await Promise.all([repo.check(), repo.check(), repo.check()]);
        const inFlight = Promise.allSettled([repo.findById(randomUUID()), repo.check()]);
        await proxy.cut();
        await assert.rejects(repo.findById(randomUUID()), DatabaseUnavailable);
        await assert.rejects(repo.check(), DatabaseUnavailable);
        for (const r of await inFlight) if (r.status === 'rejected') assert.ok(r.reason instanceof DatabaseUnavailable, String(r.reason));
        await proxy.restore();
        await repo.check();
        assert.equal(await repo.findById(randomUUID()), null);
      }
    } finally {
      await repo.close();
      await proxy.close();
      await db.drop();
    }
  });
});
