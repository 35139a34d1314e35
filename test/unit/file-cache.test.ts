import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { MemoryBlobStore } from '../../src/blob/memory.js';
import type { ByteRange } from '../../src/blob/store.js';
import { FileCache } from '../../src/delivery/file-cache.js';
import { BlobNotFound } from '../../src/errors.js';

const KB = 1024;

/** A memory store that counts reads (our own interface, wrapped: no fs or SDK call is mocked). */
class CountingStore extends MemoryBlobStore {
  reads = 0;
  override async get(key: string, range?: ByteRange): Promise<Readable> {
    this.reads++;
    return super.get(key, range);
  }
}

async function stored(sizes: Record<string, number>): Promise<{ store: CountingStore; bytes: Record<string, Buffer> }> {
  const store = new CountingStore();
  const bytes: Record<string, Buffer> = {};
  for (const [name, size] of Object.entries(sizes)) {
    bytes[name] = randomBytes(size);
    await store.put(`originals/aa/bb/${name}`, Readable.from([bytes[name]]), { size, contentType: 'image/jpeg' });
  }
  return { store, bytes };
}

const key = (name: string) => `originals/aa/bb/${name}`;
const text = async (b: Buffer | Readable) => (Buffer.isBuffer(b) ? b : Buffer.concat(await b.toArray()));

test('a small file is read from the store once, then served from memory, whole or in ranges', async () => {
  const { store, bytes } = await stored({ a: 50 * KB });
  const cache = new FileCache(store, { maxBytes: 1024 * KB, maxFileBytes: 512 * KB });
  assert.deepEqual(await text(await cache.open(key('a'), 50 * KB, null)), bytes.a);
  assert.deepEqual(await text(await cache.open(key('a'), 50 * KB, { start: 10, end: 19 })), bytes.a!.subarray(10, 20));
  assert.deepEqual(await text(await cache.open(key('a'), 50 * KB, { start: 0, end: 50 * KB - 1 })), bytes.a);
  assert.equal(store.reads, 1);
});

test('concurrent misses of one file read it once', async () => {
  const { store, bytes } = await stored({ a: 100 * KB });
  const cache = new FileCache(store, { maxBytes: 1024 * KB, maxFileBytes: 512 * KB });
  const all = await Promise.all(Array.from({ length: 20 }, () => cache.open(key('a'), 100 * KB, null)));
  for (const got of all) assert.deepEqual(await text(got), bytes.a);
  assert.equal(store.reads, 1);
});

test('a file above the per-file limit streams from the store every time', async () => {
  const { store, bytes } = await stored({ big: 600 * KB });
  const cache = new FileCache(store, { maxBytes: 4096 * KB, maxFileBytes: 512 * KB });
  for (let i = 0; i < 3; i++) assert.deepEqual(await text(await cache.open(key('big'), 600 * KB, null)), bytes.big);
  const part = await cache.open(key('big'), 600 * KB, { start: 5, end: 9 });
  assert.ok(!Buffer.isBuffer(part), 'a range of a big file is a stream from the store');
  assert.deepEqual(await text(part), bytes.big!.subarray(5, 10));
  assert.equal(store.reads, 4);
});

test('the memory bound holds: the least recently used file is dropped and read again later', async () => {
  const { store } = await stored({ a: 300 * KB, b: 300 * KB, c: 300 * KB });
  const cache = new FileCache(store, { maxBytes: 700 * KB, maxFileBytes: 512 * KB });
  for (const n of ['a', 'b', 'c']) await cache.open(key(n), 300 * KB, null); // c evicts a
  assert.equal(store.reads, 3);
  await cache.open(key('c'), 300 * KB, null);
  await cache.open(key('b'), 300 * KB, null);
  assert.equal(store.reads, 3, 'b and c still in memory');
  await cache.open(key('a'), 300 * KB, null);
  assert.equal(store.reads, 4, 'a was dropped');
});

test('a blob whose length differs from the row is an error and is not cached', async () => {
  const { store } = await stored({ a: 10 * KB });
  const cache = new FileCache(store, { maxBytes: 1024 * KB, maxFileBytes: 512 * KB });
  await assert.rejects(cache.open(key('a'), 11 * KB, null), /read 10240 bytes of a blob that has 11264/);
  await assert.rejects(cache.open(key('a'), 11 * KB, null));
  assert.equal(store.reads, 2, 'the failed read was not kept');
});

test('a missing blob is BlobNotFound, as from the store', async () => {
  const { store } = await stored({});
  const cache = new FileCache(store, { maxBytes: 1024 * KB, maxFileBytes: 512 * KB });
  await assert.rejects(cache.open(key('gone'), 10, null), BlobNotFound);
});

test('disabled (0 bytes): every request reads the store', async () => {
  const { store, bytes } = await stored({ a: 1 * KB });
  const cache = new FileCache(store, { maxBytes: 0, maxFileBytes: 512 * KB });
  for (let i = 0; i < 2; i++) assert.deepEqual(await text(await cache.open(key('a'), KB, null)), bytes.a);
  assert.equal(store.reads, 2);
});

test('bytes just made (a derivative) are remembered without a read', async () => {
  const { store } = await stored({});
  const cache = new FileCache(store, { maxBytes: 1024 * KB, maxFileBytes: 512 * KB });
  const made = randomBytes(5 * KB);
  cache.remember('derivatives/aa/bb/x/w=1.webp', made);
  assert.deepEqual(await cache.open('derivatives/aa/bb/x/w=1.webp', 5 * KB, null), made);
  assert.equal(store.reads, 0);
});
