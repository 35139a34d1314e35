import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { originalKey } from '../../src/blob/keys.js';
import { CachedAssetRepository } from '../../src/meta/cached.js';
import { openRepository, type KyselyAssetRepository } from '../../src/meta/kysely.js';
import type { AssetRecord } from '../../src/meta/repository.js';

const SHA = 'ab'.repeat(32);
const asset = (): AssetRecord => ({
  id: randomUUID(),
  name: 'shoe.jpg',
  kind: 'image',
  mimeType: 'image/jpeg',
  ext: 'jpg',
  width: 10,
  height: 20,
  durationMs: null,
  sizeBytes: 1234,
  md5: '0'.repeat(32),
  sha256: SHA,
  blobKey: originalKey(SHA),
  createdAt: new Date('2025-01-02T03:04:05.678Z'),
});

/**
 * The row cache against a second connection to the same database, standing for another process
 * (a cluster sibling, another instance, an `ams` command) that changes rows behind its back.
 */
describe('the row cache in front of SQLite, with another process writing the same file', () => {
  let dir: string;
  let other: KyselyAssetRepository;
  let cached: CachedAssetRepository;
  const TTL = 300;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-row-cache-'));
    const url = `sqlite:${path.join(dir, 'ams.sqlite')}`;
    other = await openRepository(url);
    cached = new CachedAssetRepository(await openRepository(url), { maxEntries: 3, ttlMs: TTL });
  });

  after(async () => {
    await cached.close();
    await other.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('an asset inserted elsewhere is visible at once: misses are never cached', async () => {
    const a = asset();
    assert.equal(await cached.findById(a.id), null);
    await other.insert(a);
    assert.deepEqual(await cached.findById(a.id), a);
  });

  it('a delete made elsewhere shows once the TTL has passed, not before', async () => {
    const a = asset();
    await other.insert(a);
    assert.deepEqual(await cached.findById(a.id), a);
    await other.delete(a.id);
    assert.deepEqual(await cached.findById(a.id), a, 'within the TTL the cached row is served');
    await sleep(TTL + 100);
    assert.equal(await cached.findById(a.id), null);
  });

  it('a delete through the cache is seen at once, also by a lookup that overlapped it', async () => {
    const a = asset();
    await other.insert(a);
    assert.deepEqual(await cached.findById(a.id), a);
    const racing = cached.findById(a.id);
    assert.equal(await cached.delete(a.id), true);
    await racing;
    assert.equal(await cached.findById(a.id), null);
    // A lookup that began before the delete committed must not have put the row back.
    const b = asset();
    await other.insert(b);
    const overlapping = cached.findById(b.id);
    const deleting = cached.delete(b.id);
    await Promise.all([overlapping, deleting]);
    assert.equal(await cached.findById(b.id), null);
  });

  it('placeholders set through the cache show at once', async () => {
    const a = asset();
    await other.insert(a);
    assert.equal((await cached.findById(a.id))?.thumbhash, undefined);
    await cached.setPlaceholders(a.id, { thumbhash: 'AAAA', dominantColor: '#102030' });
    const got = await cached.findById(a.id);
    assert.deepEqual([got?.thumbhash, got?.dominantColor], ['AAAA', '#102030']);
  });

  it('a placeholder write that fails (the database gone) leaves the cached row in place', async () => {
    const a = asset();
    await other.insert(a);
    // Our own interface, wrapped: a database that answers reads until it goes away mid-test.
    let down = false;
    const inner = await openRepository(`sqlite:${path.join(dir, 'ams.sqlite')}`);
    const outage = Object.assign(Object.create(inner) as KyselyAssetRepository, {
      findById: (id: string) => (down ? Promise.reject(new Error('database unavailable')) : inner.findById(id)),
      setPlaceholders: () => Promise.reject(new Error('database unavailable')),
    });
    const cache = new CachedAssetRepository(outage, { maxEntries: 3, ttlMs: 60_000 });
    try {
      assert.deepEqual(await cache.findById(a.id), a);
      down = true;
      await assert.rejects(cache.setPlaceholders(a.id, { thumbhash: 'AAAA', dominantColor: '#102030' }), /database unavailable/);
      assert.deepEqual(await cache.findById(a.id), a, 'still served from the cache');
    } finally {
      await inner.close();
    }
  });

  it('holds at most maxEntries rows: the least recently used goes to the database again', async () => {
    const rows = [asset(), asset(), asset(), asset()];
    for (const r of rows) await other.insert(r);
    for (const r of rows) await cached.findById(r.id); // rows[0] is evicted by rows[3]
    await other.delete(rows[0]!.id);
    await other.delete(rows[3]!.id);
    assert.equal(await cached.findById(rows[0]!.id), null, 'evicted: read from the database');
    assert.deepEqual(await cached.findById(rows[3]!.id), rows[3], 'still cached');
  });
});
