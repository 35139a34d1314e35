import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { originalKey } from '../../src/blob/keys.js';
import { AmsError } from '../../src/errors.js';
import type { AssetRecord, AssetRepository, ListQuery } from '../../src/meta/repository.js';

const SHA = 'feed'.padEnd(64, '2');

function row(name: string, createdAtMs: number, overrides: Partial<AssetRecord> = {}): AssetRecord {
  return {
    id: randomUUID(),
    name,
    kind: 'image',
    mimeType: 'image/png',
    ext: 'png',
    width: 10,
    height: 10,
    durationMs: null,
    sizeBytes: 100,
    md5: '0'.repeat(32),
    sha256: SHA,
    blobKey: originalKey(SHA),
    createdAt: new Date(createdAtMs),
    ...overrides,
  };
}

/** Follows nextCursor to the end (bounded), returning every name in order. */
async function walkAll(repo: AssetRepository, query: Omit<ListQuery, 'cursor'>): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const res = await repo.list(cursor === undefined ? query : { ...query, cursor });
    assert.ok(res.items.length <= query.limit);
    names.push(...res.items.map((a) => a.name));
    if (res.nextCursor === null) return names;
    cursor = res.nextCursor;
  }
  assert.fail('paging did not end');
}

/** The `list` part of the AssetRepository contract; called from assetRepositoryContract. */
export function assetListContract(open: () => Promise<AssetRepository>): void {
  describe('list (newest first, keyset cursor)', () => {
    let repo: AssetRepository;
    beforeEach(async () => {
      repo = await open();
    });
    afterEach(async () => {
      await repo.close();
    });

    it('an empty database lists nothing and has no next page', async () => {
      assert.deepEqual(await repo.list({ limit: 10 }), { items: [], nextCursor: null });
    });

    it('pages newest first through rows sharing a timestamp, each row exactly once', async () => {
      // Five rows in one millisecond: only the id breaks the tie, so a cursor on time alone would skip rows.
      const rows = [row('a', 1000), row('b', 3000), ...[1, 2, 3, 4, 5].map((i) => row(`same${i}`, 2000)), row('c', 4000)];
      for (const r of rows) await repo.insert(r);
      const sameInIdOrder = rows
        .filter((r) => r.createdAt.getTime() === 2000)
        .sort((x, y) => (x.id < y.id ? 1 : -1))
        .map((r) => r.name);
      const expectedOrder = ['c', 'b', ...sameInIdOrder, 'a'];
      for (const limit of [1, 2, 3, 8, 100]) assert.deepEqual(await walkAll(repo, { limit }), expectedOrder, `limit ${limit}`);
      const first = await repo.list({ limit: 8 });
      assert.equal(first.nextCursor, null, 'an exactly full last page says so');
      assert.deepEqual(first.items[0], rows[rows.length - 1], 'items are whole records');
    });

    it('a cursor stays valid when rows are inserted and deleted between pages', async () => {
      const rows = [row('r1', 1000), row('r2', 2000), row('r3', 3000), row('r4', 4000)];
      for (const r of rows) await repo.insert(r);
      const page1 = await repo.list({ limit: 2 });
      assert.deepEqual(page1.items.map((a) => a.name), ['r4', 'r3']);
      await repo.insert(row('newer', 5000));
      await repo.delete(rows[1]!.id);
      const page2 = await repo.list({ limit: 2, cursor: page1.nextCursor! });
      assert.deepEqual(page2.items.map((a) => a.name), ['r1']);
      assert.equal(page2.nextCursor, null);
    });

    it('filters by kind and by a case-insensitive name substring, wildcards literal', async () => {
      const video = { kind: 'video' as const, mimeType: 'video/mp4', ext: 'mp4', durationMs: 1500 };
      await repo.insert(row('Red-Shoe.JPG', 1000));
      await repo.insert(row('red shoe walk.mp4', 2000, video));
      await repo.insert(row('blue_hat.png', 3000));
      await repo.insert(row('bluexhat.png', 4000));
      await repo.insert(row('sale 50%.png', 5000));
      await repo.insert(row('sale 500.png', 6000));
      assert.deepEqual(await walkAll(repo, { limit: 2, kind: 'video' }), ['red shoe walk.mp4']);
      assert.deepEqual(await walkAll(repo, { limit: 2, kind: 'image' }), ['sale 500.png', 'sale 50%.png', 'bluexhat.png', 'blue_hat.png', 'Red-Shoe.JPG']);
      assert.deepEqual(await walkAll(repo, { limit: 1, q: 'RED' }), ['red shoe walk.mp4', 'Red-Shoe.JPG']);
      assert.deepEqual(await walkAll(repo, { limit: 10, q: 'red', kind: 'image' }), ['Red-Shoe.JPG']);
      assert.deepEqual(await walkAll(repo, { limit: 10, q: 'blue_' }), ['blue_hat.png']);
      assert.deepEqual(await walkAll(repo, { limit: 10, q: '50%' }), ['sale 50%.png']);
      assert.deepEqual(await walkAll(repo, { limit: 10, q: 'absent' }), []);
      assert.deepEqual((await repo.list({ limit: 10, kind: 'video' })).items[0]?.durationMs, 1500);
    });

    it('a cursor it did not hand out is the client error BAD_CURSOR', async () => {
      await repo.insert(row('x', 1000));
      const bad = ['not base64!', Buffer.from('12.not-an-id').toString('base64url'), Buffer.from('x').toString('base64url'), ''];
      for (const cursor of bad) {
        await assert.rejects(repo.list({ limit: 5, cursor }), (err: unknown) => err instanceof AmsError && err.code === 'BAD_CURSOR', cursor);
      }
    });
  });
}
