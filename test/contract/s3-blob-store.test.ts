import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { originalKey } from '../../src/blob/keys.js';
import { createS3Client } from '../../src/blob/s3-client.js';
import { S3BlobStore } from '../../src/blob/s3.js';
import { loadConfig } from '../../src/config.js';
import { StorageUnavailable } from '../../src/errors.js';
import { startS3, TEST_BUCKET, type TestS3 } from '../helpers/s3.js';

const keyOf = (b: Buffer) => originalKey(createHash('sha256').update(b).digest('hex'));

/** What the conformance suite cannot see: multipart uploads, paging, prefixes, outages. */
describe('S3BlobStore specifics', () => {
  let s3: TestS3;
  const stores: Array<{ client: { destroy(): void } }> = [];
  const store = (prefix: string, extra: { listPageSize?: number; publicBaseUrl?: string } = {}) => {
    const config = loadConfig({ ...s3.env(prefix), AMS_DATA_DIR: os.tmpdir() }).storage;
    if (config.kind !== 's3') throw new Error('not s3');
    const client = createS3Client(config);
    stores.push({ client });
    return new S3BlobStore({ client, bucket: TEST_BUCKET, prefix, publicBaseUrl: extra.publicBaseUrl ?? null, listPageSize: extra.listPageSize });
  };
  before(async () => {
    s3 = await startS3();
  });
  after(async () => {
    for (const s of stores) s.client.destroy();
    await s3.close();
  });

  test('a stream larger than one part goes up as a multipart upload and comes back whole', async () => {
    const s = store('multi/');
    // 20 MiB in 64 KiB chunks: three 8 MiB parts, never one buffer of the whole.
    const data = randomBytes(20 * 1024 * 1024);
    const chunks = function* () {
      for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
    };
    assert.deepEqual(await s.put(keyOf(data), Readable.from(chunks()), { size: data.length, contentType: 'video/mp4' }), { created: true });
    assert.ok((await buffer(await s.get(keyOf(data)))).equals(data));
    const tail = await buffer(await s.get(keyOf(data), { start: data.length - 5, end: data.length - 1 }));
    assert.ok(tail.equals(data.subarray(data.length - 5)));
  });

  test('list pages through every key, whatever the page size', async () => {
    const s = store('paged/', { listPageSize: 2 });
    const keys: string[] = [];
    for (let i = 0; i < 7; i++) {
      const bytes = Buffer.from(`blob ${i}`);
      keys.push(keyOf(bytes));
      await s.put(keyOf(bytes), Readable.from([bytes]), { size: bytes.length, contentType: 'image/png' });
    }
    const listed: string[] = [];
    for await (const e of s.list('')) listed.push(e.key);
    assert.deepEqual(listed.sort(), keys.sort());
  });

  test('prefixes keep installations sharing a bucket apart', async () => {
    const a = store('tenant-a/');
    const b = store('tenant-b/');
    const bytes = Buffer.from('only in a');
    await a.put(keyOf(bytes), Readable.from([bytes]), { size: bytes.length, contentType: 'image/png' });
    const inB: string[] = [];
    for await (const e of b.list('')) inB.push(e.key);
    assert.deepEqual(inB, []);
    await assert.rejects(b.stat(keyOf(bytes)));
  });

  test('directUrl: presigned with the TTL, or the public base URL with the prefix', async () => {
    const bytes = Buffer.from('direct');
    const signed = new URL((await store('d/').directUrl(keyOf(bytes), 300)) ?? '');
    assert.equal(signed.searchParams.get('X-Amz-Expires'), '300');
    assert.equal(signed.pathname, `/${TEST_BUCKET}/d/${keyOf(bytes)}`);
    assert.equal(await store('d/', { publicBaseUrl: 'https://cdn.example.test' }).directUrl(keyOf(bytes), 300), `https://cdn.example.test/d/${keyOf(bytes)}`);
  });

  test('toolUrl: presigned against the bucket itself, even with a public base URL (a CDN may not pass ranges)', async () => {
    const bytes = Buffer.from('tool');
    const url = new URL((await store('d/', { publicBaseUrl: 'https://cdn.example.test' }).toolUrl(keyOf(bytes), 600)) ?? '');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '600');
    assert.equal(url.pathname, `/${TEST_BUCKET}/d/${keyOf(bytes)}`);
  });

  test('while the server is down every call is StorageUnavailable; after it returns, the same store works', async () => {
    const s = store('outage/');
    const bytes = Buffer.from('survives');
    await s.put(keyOf(bytes), Readable.from([bytes]), { size: bytes.length, contentType: 'image/png' });
    await s3.stop();
    try {
      for (const call of [
        () => s.check(),
        () => s.get(keyOf(bytes)),
        () => s.stat(keyOf(bytes)),
        () => s.put(keyOf(Buffer.from('new')), Readable.from([Buffer.from('new')]), { size: 3, contentType: 'image/png' }),
      ]) {
        await assert.rejects(call(), StorageUnavailable);
      }
    } finally {
      await s3.start();
    }
    await s.check();
    assert.ok((await buffer(await s.get(keyOf(bytes)))).equals(bytes));
  });

  test('a missing bucket is a readiness failure naming it', async () => {
    const config = loadConfig({ ...s3.env(), AMS_S3_BUCKET: 'no-such-bucket', AMS_DATA_DIR: os.tmpdir() }).storage;
    if (config.kind !== 's3') throw new Error('not s3');
    const client = createS3Client(config);
    stores.push({ client });
    const s = new S3BlobStore({ client, bucket: 'no-such-bucket', prefix: '', publicBaseUrl: null });
    await assert.rejects(s.check(), (err: unknown) => err instanceof StorageUnavailable && /no-such-bucket/.test(err.message));
  });
});
