import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

describe('the file URL: exact bytes, caching, Range, conditional requests, HEAD', () => {
  let server: TestServer;
  let bytes: Buffer;
  let fileUrl: string;
  let etag: string;
  before(async () => {
    server = await startServer();
    bytes = await fixture('clip.mp4');
    const body = await json(await upload(server, bytes, { filename: 'phone clip.mp4' }));
    fileUrl = server.local(body.href);
    const res = await fetch(fileUrl);
    etag = res.headers.get('etag') ?? '';
    await res.arrayBuffer();
  });
  after(() => server.close());

  test('200 with the exact bytes and every caching header', async () => {
    const res = await fetch(fileUrl);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes));
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.equal(res.headers.get('content-length'), String(bytes.length));
    assert.equal(res.headers.get('etag'), `"${createHash('sha256').update(bytes).digest('hex')}"`);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('content-disposition'), "inline; filename*=UTF-8''phone%20clip.mp4");
  });

  test('Range → 206 with the right slice (first bytes, middle, suffix, open end)', async () => {
    const n = bytes.length;
    for (const [header, start, end] of [
      ['bytes=0-0', 0, 0],
      ['bytes=100-1099', 100, 1099],
      ['bytes=-500', n - 500, n - 1],
      [`bytes=${n - 10}-`, n - 10, n - 1],
      [`bytes=10-${n + 5000}`, 10, n - 1],
    ] as const) {
      const res = await fetch(fileUrl, { headers: { range: header } });
      assert.equal(res.status, 206, header);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${n}`);
      assert.equal(res.headers.get('content-length'), String(end - start + 1));
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1)), header);
    }
  });

  test('a range past the end → 416 with Content-Range: bytes */size', async () => {
    const res = await fetch(fileUrl, { headers: { range: `bytes=${bytes.length}-` } });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), `bytes */${bytes.length}`);
    assert.equal((await json(res)).code, 'RANGE_NOT_SATISFIABLE');
  });

  test('a multi-range or malformed Range → the whole file', async () => {
    for (const header of ['bytes=0-1,5-9', 'bytes=abc', 'pages=1-2']) {
      const res = await fetch(fileUrl, { headers: { range: header } });
      assert.equal(res.status, 200, header);
      assert.equal((await res.arrayBuffer()).byteLength, bytes.length);
    }
  });

  test('If-None-Match with the ETag → 304 and no body', async () => {
    const res = await fetch(fileUrl, { headers: { 'if-none-match': etag } });
    assert.equal(res.status, 304);
    assert.equal(res.headers.get('etag'), etag);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
    const other = await fetch(fileUrl, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(other.status, 200);
    await other.arrayBuffer();
  });

  test('If-Modified-Since → 304; If-Match / If-Unmodified-Since that fail → 412 naming the current ETag', async () => {
    const lastModified = (await fetch(fileUrl, { method: 'HEAD' })).headers.get('last-modified') ?? '';
    const revalidated = await fetch(fileUrl, { headers: { 'if-modified-since': lastModified } });
    assert.equal(revalidated.status, 304);
    assert.equal((await revalidated.arrayBuffer()).byteLength, 0);
    const stale = await fetch(fileUrl, { headers: { 'if-modified-since': 'Thu, 01 Jan 2015 00:00:00 GMT' } });
    assert.deepEqual(Buffer.from(await stale.arrayBuffer()), bytes);
    const failing: Array<Record<string, string>> = [{ 'if-match': '"not-this-one"' }, { 'if-unmodified-since': 'Thu, 01 Jan 2015 00:00:00 GMT' }];
    for (const headers of failing) {
      const res = await fetch(fileUrl, { headers });
      assert.equal(res.status, 412, JSON.stringify(headers));
      assert.equal(res.headers.get('etag'), etag);
      const body = await json(res);
      assert.equal(body.code, 'PRECONDITION_FAILED');
      assert.ok(body.message.includes(etag), body.message);
    }
    const matching = await fetch(fileUrl, { headers: { 'if-match': etag } });
    assert.deepEqual(Buffer.from(await matching.arrayBuffer()), bytes);
  });

  test('If-Range: a matching ETag keeps the range, a stale one gets the whole file', async () => {
    const keep = await fetch(fileUrl, { headers: { range: 'bytes=0-9', 'if-range': etag } });
    assert.equal(keep.status, 206);
    assert.equal((await keep.arrayBuffer()).byteLength, 10);
    const stale = await fetch(fileUrl, { headers: { range: 'bytes=0-9', 'if-range': '"old"' } });
    assert.equal(stale.status, 200);
    assert.equal((await stale.arrayBuffer()).byteLength, bytes.length);
  });

  test('HEAD → the same headers, no body', async () => {
    const res = await fetch(fileUrl, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(bytes.length));
    assert.equal(res.headers.get('etag'), etag);
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.equal((await res.arrayBuffer()).byteLength, 0);
    const ranged = await fetch(fileUrl, { method: 'HEAD', headers: { range: 'bytes=0-99' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-length'), '100');
  });

  test('the redirect and the metadata need no token', async () => {
    const id = fileUrl.split('/').pop()?.split('.')[0];
    const redirect = await fetch(`${server.url}/videos/${id}`, { redirect: 'manual' });
    assert.equal(redirect.status, 303);
    const head = await fetch(`${server.url}/videos/${id}`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(head.status, 303);
  });
});
