import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { FsBlobStore } from '../../src/blob/fs.js';
import { originalKey } from '../../src/blob/keys.js';
import { MemoryBlobStore } from '../../src/blob/memory.js';
import { openBlobStore } from '../../src/blob/open.js';
import { loadConfig } from '../../src/config.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import type { BlobStore } from '../../src/blob/store.js';
import { BlobNotFound } from '../../src/errors.js';

/** Builds a store for one test. `workDir` is an empty temp dir the store may keep its files in. */
type BlobStoreFactory = (workDir: string) => BlobStore | Promise<BlobStore>;

const keyOf = (bytes: Buffer) => originalKey(createHash('sha256').update(bytes).digest('hex'));
const info = (bytes: Buffer) => ({ size: bytes.length, contentType: 'application/octet-stream' });
const read = async (store: BlobStore, key: string, range?: { start: number; end: number }) =>
  buffer(await store.get(key, range));

/** Array.fromAsync arrives in Node 22. */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Every regular file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** A stream that sends `head`, then fails, as a client disconnecting mid-upload would. */
function failingStream(head: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(head);
      } else {
        this.destroy(new Error('client went away'));
      }
    },
  });
}

// Each one breaks a different rule of SAFE_KEY: traversal, absolute, case, empty, empty segment, backslash.
const UNSAFE_KEYS = ['../x', '/abs', 'a/../../b', 'originals/../../x', 'Originals/AB', 'ORIGINALS', '', 'a//b', 'a/./b', 'a\\b', '.staging/x'];

/** The BlobStore contract (src/blob/store.ts); every backend, the in-memory fake included, must pass it. */
export function blobStoreContract(name: string, factory: BlobStoreFactory): void {
  describe(`BlobStore contract: ${name}`, () => {
    let workDir: string;
    let store: BlobStore;
    /** Writes `bytes` to a fresh source file in the work dir, as the upload pipeline's temp file. */
    let sourceFile: (bytes: Buffer) => Promise<string>;
    // Crosses the fs backend's 256 KiB read chunk, so ranges must be stitched across reads.
    const data = randomBytes(300 * 1024 + 7);
    const key = keyOf(data);

    beforeEach(async () => {
      workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-blob-contract-'));
      const sources = path.join(workDir, 'sources');
      await fs.mkdir(sources);
      let n = 0;
      sourceFile = async (bytes) => {
        const file = path.join(sources, `upload-${n++}`);
        await fs.writeFile(file, bytes);
        return file;
      };
      store = await factory(workDir);
    });

    afterEach(async () => {
      await fs.rm(workDir, { recursive: true, force: true });
    });

    it('putFile then get returns identical bytes, and stat the size', async () => {
      assert.deepEqual(await store.putFile(key, await sourceFile(data), info(data)), { created: true });
      assert.ok((await read(store, key)).equals(data));
      assert.deepEqual(await store.stat(key), { size: data.length });
    });

    it('putFile of an existing key reports created:false and keeps the original bytes', async () => {
      await store.putFile(key, await sourceFile(data), info(data));
      const other = randomBytes(data.length);
      assert.deepEqual(await store.putFile(key, await sourceFile(other), info(other)), { created: false });
      assert.ok((await read(store, key)).equals(data));
    });

    it('putFile of an empty file stores an empty blob', async () => {
      const empty = Buffer.alloc(0);
      const emptyKey = keyOf(empty);
      assert.deepEqual(await store.putFile(emptyKey, await sourceFile(empty), info(empty)), { created: true });
      assert.deepEqual(await store.stat(emptyKey), { size: 0 });
      assert.equal((await read(store, emptyKey)).length, 0);
    });

    it('put(stream) stores the bytes; a second put of the key is a no-op success', async () => {
      const chunks = [data.subarray(0, 1000), data.subarray(1000, 200_000), data.subarray(200_000)];
      assert.deepEqual(await store.put(key, Readable.from(chunks), info(data)), { created: true });
      assert.ok((await read(store, key)).equals(data));
      assert.deepEqual(await store.put(key, Readable.from([randomBytes(data.length)]), info(data)), { created: false });
      assert.ok((await read(store, key)).equals(data));
    });

    for (const [what, declared] of [
      ['shorter', data.length + 1],
      ['longer', data.length - 1],
    ] as const) {
      it(`put refuses a stream ${what} than declared and leaves no blob`, async () => {
        await assert.rejects(store.put(key, Readable.from([data]), { ...info(data), size: declared }));
        await assert.rejects(store.stat(key), BlobNotFound);
        await assert.rejects(store.get(key), BlobNotFound);
        assert.deepEqual(await collect(store.list('')), []);
      });
    }

    it('put of a stream that fails midway rejects and leaves no blob', async () => {
      await assert.rejects(store.put(key, failingStream(data.subarray(0, 1000)), info(data)), /client went away/);
      await assert.rejects(store.stat(key), BlobNotFound);
      assert.deepEqual(await collect(store.list('')), []);
    });

    it('concurrent puts of one key: exactly one creates it, and the blob is whole', async () => {
      const results = await Promise.all([
        store.put(key, Readable.from([data]), info(data)),
        store.put(key, Readable.from([data]), info(data)),
        store.putFile(key, await sourceFile(data), info(data)),
      ]);
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.ok((await read(store, key)).equals(data));
    });

    // [what, range]
    const ranges: Array<[string, { start: number; end: number }]> = [
      ['first byte', { start: 0, end: 0 }],
      ['middle', { start: 100, end: 199 }],
      ['across the 256 KiB read chunk', { start: 256 * 1024 - 10, end: 256 * 1024 + 10 }],
      ['last byte', { start: data.length - 1, end: data.length - 1 }],
      ['whole blob', { start: 0, end: data.length - 1 }],
    ];
    for (const [what, range] of ranges) {
      it(`get with a range: ${what}`, async () => {
        await store.putFile(key, await sourceFile(data), info(data));
        const got = await read(store, key, range);
        assert.equal(got.length, range.end - range.start + 1);
        assert.ok(got.equals(data.subarray(range.start, range.end + 1)));
      });
    }

    it('get and stat of a missing key reject with BlobNotFound instead of returning a stream', async () => {
      const missing = keyOf(Buffer.from('never stored'));
      for (const call of [() => store.get(missing), () => store.get(missing, { start: 0, end: 0 }), () => store.stat(missing)]) {
        await assert.rejects(call(), (err: unknown) => err instanceof BlobNotFound && err.key === missing);
      }
    });

    it('delete removes the blob and is idempotent', async () => {
      await store.putFile(key, await sourceFile(data), info(data));
      await store.delete(key);
      await assert.rejects(store.stat(key), BlobNotFound);
      await store.delete(key);
      await store.delete(keyOf(Buffer.from('never stored')));
      assert.deepEqual(await store.putFile(key, await sourceFile(data), info(data)), { created: true });
    });

    it('delete leaves other blobs alone', async () => {
      const other = randomBytes(10);
      await store.putFile(key, await sourceFile(data), info(data));
      await store.putFile(keyOf(other), await sourceFile(other), info(other));
      await store.delete(key);
      assert.deepEqual(await store.stat(keyOf(other)), { size: 10 });
    });

    it('list(prefix) yields exactly the keys under the prefix, with sizes', async () => {
      const blobs = new Map<string, number>();
      const add = async (sha: string, size: number) => {
        const k = originalKey(sha);
        await store.put(k, Readable.from([Buffer.alloc(size, 1)]), { size, contentType: 'image/png' });
        blobs.set(k, size);
        return k;
      };
      const a1 = await add(`aa11${'0'.repeat(60)}`, 11);
      const a2 = await add(`aa22${'0'.repeat(60)}`, 22);
      const b = await add(`bb11${'0'.repeat(60)}`, 33);
      const listed = async (prefix: string) => {
        const entries = await collect(store.list(prefix));
        for (const e of entries) assert.ok(e.modifiedAt instanceof Date && !Number.isNaN(e.modifiedAt.getTime()));
        return entries.map((e) => ({ key: e.key, size: e.size })).sort((x, y) => x.key.localeCompare(y.key));
      };
      const expect = (...keys: string[]) => keys.sort().map((k) => ({ key: k, size: blobs.get(k) }));
      assert.deepEqual(await listed(''), expect(a1, a2, b));
      assert.deepEqual(await listed('originals/'), expect(a1, a2, b));
      assert.deepEqual(await listed('originals/aa/'), expect(a1, a2));
      assert.deepEqual(await listed('originals/a'), expect(a1, a2));
      assert.deepEqual(await listed('originals/aa/22/'), expect(a2));
      assert.deepEqual(await listed(a1), expect(a1));
      assert.deepEqual(await listed('originals/cc/'), []);
      assert.deepEqual(await listed('variants/'), []);
    });

    it('every method that takes a key refuses unsafe keys and writes nothing', async () => {
      const file = await sourceFile(data);
      for (const bad of UNSAFE_KEYS) {
        const label = JSON.stringify(bad);
        await assert.rejects(store.putFile(bad, file, info(data)), /unsafe blob key/, `putFile ${label}`);
        await assert.rejects(store.put(bad, Readable.from([data]), info(data)), /unsafe blob key/, `put ${label}`);
        await assert.rejects(store.get(bad), /unsafe blob key/, `get ${label}`);
        await assert.rejects(store.stat(bad), /unsafe blob key/, `stat ${label}`);
        await assert.rejects(store.delete(bad), /unsafe blob key/, `delete ${label}`);
      }
      assert.deepEqual(await collect(store.list('')), []);
      // Nothing escaped the store's root either: the only file in the work dir is the source.
      assert.deepEqual(await filesUnder(workDir), [path.join('sources', path.basename(file))]);
    });

    it('check passes on a working store', async () => {
      await store.check();
    });

    it('localFile is null or a file on this disk holding exactly the bytes', async () => {
      await store.putFile(key, await sourceFile(data), info(data));
      const file = store.localFile(key);
      if (file !== null) assert.ok((await fs.readFile(file)).equals(data));
    });

    it('toolUrl is null or an http(s) URL answering range requests with the exact bytes', async () => {
      await store.putFile(key, await sourceFile(data), info(data));
      const url = await store.toolUrl(key, 60);
      if (url === null) return;
      assert.match(new URL(url).protocol, /^https?:$/);
      const res = await fetch(url, { headers: { range: `bytes=3-${data.length - 2}` } });
      assert.equal(res.status, 206);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(3, data.length - 1)));
    });

    it('directUrl is null or an absolute http(s) URL', async () => {
      await store.putFile(key, await sourceFile(data), info(data));
      const url = await store.directUrl(key, 60);
      if (url !== null) assert.match(new URL(url).protocol, /^https?:$/);
    });
  });
}

blobStoreContract('FsBlobStore', (workDir) => new FsBlobStore(path.join(workDir, 'store')));
blobStoreContract('MemoryBlobStore', () => new MemoryBlobStore());

describe('FsBlobStore specifics', () => {
  let workDir: string;
  let root: string;
  let store: BlobStore;
  const data = randomBytes(64 * 1024);
  const key = keyOf(data);

  beforeEach(async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-blob-fs-'));
    root = path.join(workDir, 'store');
    store = new FsBlobStore(root);
  });

  afterEach(async () => {
    await fs.rm(workDir, { recursive: true, force: true });
  });

  const staged = async () => (await fs.readdir(path.join(root, '.staging')).catch(() => [])) as string[];

  it('putFile puts the whole file at the key path and stages nothing', async () => {
    const file = path.join(workDir, 'upload');
    await fs.writeFile(file, data);
    await store.putFile(key, file, info(data));
    assert.ok((await fs.readFile(path.join(root, ...key.split('/')))).equals(data));
    assert.deepEqual(await staged(), []);
    assert.deepEqual(await filesUnder(root), [path.join(...key.split('/'))]);
  });

  it('put leaves the staging dir empty after success and after a no-op', async () => {
    await store.put(key, Readable.from([data]), info(data));
    assert.deepEqual(await staged(), []);
    await store.put(key, Readable.from([data]), info(data));
    assert.deepEqual(await staged(), []);
    assert.deepEqual(await filesUnder(root), [path.join(...key.split('/'))]);
  });

  it('a failing put leaves no file anywhere in the store', async () => {
    await assert.rejects(store.put(key, Readable.from([data]), { ...info(data), size: data.length + 1 }));
    await assert.rejects(store.put(key, failingStream(data.subarray(0, 100)), info(data)));
    assert.deepEqual(await filesUnder(root), []);
  });

  it('directUrl is null: files on disk have no presigned URL', async () => {
    await store.put(key, Readable.from([data]), info(data));
    assert.equal(await store.directUrl(key, 60), null);
  });

  it('blobs persist across store instances on the same root', async () => {
    await store.put(key, Readable.from([data]), info(data));
    const reopened = new FsBlobStore(root);
    assert.ok((await read(reopened, key)).equals(data));
    assert.deepEqual((await collect(reopened.list(''))).map((e) => e.key), [key]);
  });

  it('check creates a missing root', async () => {
    await store.check();
    assert.ok((await fs.stat(root)).isDirectory());
  });
});

describe('S3BlobStore on an S3-compatible server (s3rver on loopback)', () => {
  let s3: TestS3;
  before(async () => {
    s3 = await startS3();
  });
  after(() => s3.close());
  // A fresh key prefix per test gives each one an empty store in the shared bucket.
  blobStoreContract('S3BlobStore', async () => {
    const storage = loadConfig({ ...s3.env(`t-${randomBytes(6).toString('hex')}/`), AMS_DATA_DIR: os.tmpdir() }).storage;
    return (await openBlobStore(storage)).blobs;
  });
});
