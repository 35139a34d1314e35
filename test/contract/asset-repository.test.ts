import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { originalKey } from '../../src/blob/keys.js';
import { DatabaseUnavailable } from '../../src/errors.js';
import { CachedAssetRepository } from '../../src/meta/cached.js';
import { openRepository } from '../../src/meta/kysely.js';
import type { AssetRecord, AssetRepository } from '../../src/meta/repository.js';
import { createTestDatabase, NO_POSTGRES, POSTGRES_URL } from '../helpers/postgres.js';
import { assetListContract } from './asset-list.contract.js';

/** Opens a repository on a fresh, empty database for one test. */
type RepositoryFactory = () => Promise<AssetRepository>;

const SHA = 'c0ffee'.padEnd(64, '0');

function makeAsset(overrides: Partial<AssetRecord> = {}): AssetRecord {
  return {
    id: randomUUID(),
    name: 'naïve "photo" it\'s.jpg',
    kind: 'image',
    mimeType: 'image/jpeg',
    ext: 'jpg',
    width: 4032,
    height: 3024,
    durationMs: null,
    // Above 2^32: must survive as a JS number (bigint columns come back as strings from Postgres).
    sizeBytes: 5_000_000_123,
    md5: '0123456789abcdef0123456789abcdef',
    sha256: SHA,
    blobKey: originalKey(SHA),
    // Milliseconds on purpose: they must survive.
    createdAt: new Date('2024-05-06T07:08:09.123Z'),
    ...overrides,
  };
}

/** Checks the JS type of every field, so a driver returning strings for numbers is caught. */
function assertTypes(a: AssetRecord): void {
  for (const f of ['id', 'name', 'kind', 'mimeType', 'ext', 'md5', 'sha256', 'blobKey'] as const) {
    assert.equal(typeof a[f], 'string', f);
  }
  for (const f of ['width', 'height', 'sizeBytes'] as const) assert.equal(typeof a[f], 'number', f);
  assert.ok(a.durationMs === null || typeof a.durationMs === 'number', 'durationMs');
  assert.ok(a.createdAt instanceof Date, 'createdAt');
}

/** The AssetRepository contract (src/meta/repository.ts); every database must pass it. */
export function assetRepositoryContract(name: string, open: RepositoryFactory): void {
  describe(`AssetRepository contract: ${name}`, () => {
    let repo: AssetRepository;

    beforeEach(async () => {
      repo = await open();
    });

    afterEach(async () => {
      await repo.close();
    });

    // [what, record]
    const records: Array<[string, AssetRecord]> = [
      ['an image', makeAsset()],
      ['a video with a duration', makeAsset({ kind: 'video', mimeType: 'video/mp4', ext: 'mp4', width: 1920, height: 1080, durationMs: 3_600_123 })],
      ['a zero duration (not null)', makeAsset({ kind: 'video', mimeType: 'video/webm', ext: 'webm', durationMs: 0 })],
      ['a tiny file and a 1×1 image', makeAsset({ width: 1, height: 1, sizeBytes: 1 })],
      ['a long unicode name', makeAsset({ name: `${'名'.repeat(60)}😀.png` })],
      ['the epoch as createdAt', makeAsset({ createdAt: new Date(0) })],
    ];
    for (const [what, record] of records) {
      it(`insert → findById round-trips every field: ${what}`, async () => {
        await repo.insert(record);
        const found = await repo.findById(record.id);
        assert.ok(found);
        assertTypes(found);
        assert.deepEqual(found, record);
        assert.equal(found.createdAt.getTime(), record.createdAt.getTime());
      });
    }

    it('findById of a missing id is null', async () => {
      await repo.insert(makeAsset());
      assert.equal(await repo.findById(randomUUID()), null);
      assert.equal(await repo.findById(''), null);
    });

    it('inserting a duplicate id rejects and keeps the first row', async () => {
      const first = makeAsset();
      await repo.insert(first);
      await assert.rejects(repo.insert({ ...first, name: 'second.jpg' }));
      assert.equal((await repo.findById(first.id))?.name, first.name);
    });

    it('concurrent inserts succeed or fail each alone (a duplicate among them fails by itself)', async () => {
      const first = makeAsset();
      await repo.insert(first);
      const others = Array.from({ length: 8 }, (_, i) => makeAsset({ name: `concurrent-${i}.jpg` }));
      const settled = await Promise.allSettled([
        ...others.slice(0, 4).map((a) => repo.insert(a)),
        repo.insert({ ...first, name: 'duplicate.jpg' }),
        ...others.slice(4).map((a) => repo.insert(a)),
      ]);
      assert.deepEqual(
        settled.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
      );
      for (const a of others) assert.deepEqual(await repo.findById(a.id), a);
      assert.equal((await repo.findById(first.id))?.name, first.name);
    });

    it('delete is true for an existing row, then false', async () => {
      const a = makeAsset();
      const b = makeAsset();
      await repo.insert(a);
      await repo.insert(b);
      assert.equal(await repo.delete(a.id), true);
      assert.equal(await repo.findById(a.id), null);
      assert.equal(await repo.delete(a.id), false);
      assert.equal(await repo.delete(randomUUID()), false);
      assert.deepEqual(await repo.findById(b.id), b);
    });

    it('countByBlobKey counts the rows sharing a blob', async () => {
      const otherSha = 'beef'.padEnd(64, '1');
      const shared = originalKey(SHA);
      await repo.insert(makeAsset());
      await repo.insert(makeAsset());
      const third = makeAsset();
      await repo.insert(third);
      await repo.insert(makeAsset({ sha256: otherSha, blobKey: originalKey(otherSha) }));
      assert.equal(await repo.countByBlobKey(shared), 3);
      assert.equal(await repo.countByBlobKey(originalKey(otherSha)), 1);
      assert.equal(await repo.countByBlobKey(originalKey('0'.repeat(64))), 0);
      await repo.delete(third.id);
      assert.equal(await repo.countByBlobKey(shared), 2);
    });

    it('setPlaceholders adds the placeholders to one row; a missing id is no error', async () => {
      const a = makeAsset();
      const b = makeAsset();
      await repo.insert(a);
      await repo.insert(b);
      const placeholders = { thumbhash: '1QcSHQRnh493V4dIh4eXh1h4kJUI', dominantColor: '#d02010' };
      await repo.setPlaceholders(a.id, placeholders);
      await repo.setPlaceholders(randomUUID(), placeholders);
      assert.deepEqual(await repo.findById(a.id), { ...a, ...placeholders });
      assert.deepEqual(await repo.findById(b.id), b);
    });

    it('check passes on a working database', async () => {
      await repo.check();
    });

    assetListContract(open);
  });
}

describe('SQLite', () => {
  let dir: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-repo-'));
  });

  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  assetRepositoryContract('SQLite', () => openRepository(`sqlite:${path.join(dir, `${randomUUID()}.sqlite`)}`));
  // The row cache is a repository too: everything above must hold through it.
  assetRepositoryContract(
    'SQLite behind the row cache',
    async () => new CachedAssetRepository(await openRepository(`sqlite:${path.join(dir, `${randomUUID()}.sqlite`)}`), { maxEntries: 100, ttlMs: 60_000 }),
  );

  it('reopening the same file keeps the rows (migrations are idempotent)', async () => {
    const url = `sqlite:${path.join(dir, 'reopen', 'ams.sqlite')}`;
    const asset = makeAsset();
    const first = await openRepository(url);
    await first.insert(asset);
    await first.close();
    for (let i = 0; i < 2; i++) {
      const again = await openRepository(url);
      try {
        await again.check();
        assert.deepEqual(await again.findById(asset.id), asset);
      } finally {
        await again.close();
      }
    }
  });

  // Tests run as root, for whom chmod 000 blocks nothing: these fail for root too.
  // [what, prepare (returns the database path)]
  const unusable: Array<[string, () => Promise<string>]> = [
    [
      'its parent is a regular file',
      async () => {
        await fs.writeFile(path.join(dir, 'plain-file'), 'not a directory');
        return path.join(dir, 'plain-file', 'ams.sqlite');
      },
    ],
    [
      'a directory is in its place',
      async () => {
        await fs.mkdir(path.join(dir, 'is-a-dir.sqlite'));
        return path.join(dir, 'is-a-dir.sqlite');
      },
    ],
    [
      'it is not a SQLite file',
      async () => {
        await fs.writeFile(path.join(dir, 'garbage.sqlite'), 'this is not a database, '.repeat(100));
        return path.join(dir, 'garbage.sqlite');
      },
    ],
  ];
  for (const [what, prepare] of unusable) {
    it(`an unusable database file is a clear error: ${what}`, async () => {
      const file = await prepare();
      let repo: AssetRepository | undefined;
      const err = await openRepository(`sqlite:${file}`)
        .then(async (r) => {
          repo = r;
          await r.check();
        })
        .then(
          () => assert.fail('the database was usable'),
          (e: unknown) => e,
        );
      await repo?.close();
      assert.ok(err instanceof DatabaseUnavailable, `expected DatabaseUnavailable, got ${String(err)}`);
      // Clear = it names the file, so an operator knows what to fix.
      assert.ok(err.message.includes(file), err.message);
    });
  }
});

describe('PostgreSQL', { skip: NO_POSTGRES }, () => {
  // One database per test, dropped when the test closes its repository.
  assetRepositoryContract('PostgreSQL', async () => {
    const db = await createTestDatabase();
    const repo = await openRepository(db.url).catch(async (err: unknown) => {
      await db.drop();
      throw err;
    });
    const close = repo.close.bind(repo);
    return Object.assign(repo, { close: () => close().finally(() => db.drop()) });
  });

  it('two instances starting at once migrate one database exactly once', async () => {
    const db = await createTestDatabase();
    try {
      const repos = await Promise.all([openRepository(db.url), openRepository(db.url), openRepository(db.url)]);
      const asset = makeAsset();
      await repos[0]!.insert(asset);
      for (const r of repos) assert.deepEqual(await r.findById(asset.id), asset);
      await Promise.all(repos.map((r) => r.close()));
    } finally {
      await db.drop();
    }
  });

  it('an unreachable server is DatabaseUnavailable naming it, without the password', async () => {
    const url = new URL(POSTGRES_URL as string);
    url.port = '1'; // nothing listens on port 1
    url.password = 'sekret';
    const err = await openRepository(url.toString()).then(
      () => assert.fail('opened'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DatabaseUnavailable, String(err));
    assert.match(err.message, /127\.0\.0\.1:1|localhost:1/);
    assert.doesNotMatch(err.message, /sekret/);
  });
});
