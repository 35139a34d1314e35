import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import { openBlobStore } from '../../src/blob/open.js';
import type { BlobStore } from '../../src/blob/store.js';
import { loadConfig } from '../../src/config.js';
import sharp from 'sharp';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function keys(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list('')) out.push(e.key);
  return out.sort();
}

describe('AMS_STORAGE=s3: uploads stored in the bucket, redirects presigned, the file URL streamed from S3', () => {
  let s3: TestS3;
  let server: TestServer;
  let bucket: BlobStore;
  let closeBucket: () => void;
  const PREFIX = 'ams/';
  before(async () => {
    s3 = await startS3();
    server = await startServer({ ...s3.env(PREFIX), AMS_S3_PRESIGN_TTL: '120' });
    const opened = await openBlobStore(loadConfig({ ...s3.env(PREFIX), AMS_DATA_DIR: os.tmpdir() }).storage);
    bucket = opened.blobs;
    closeBucket = opened.close;
  });
  after(async () => {
    closeBucket();
    await server.close();
    await s3.close();
  });

  test('upload → 201; the bytes are in the bucket under their SHA-256, nothing stays on local disk', async () => {
    const bytes = await fixture('photo.jpg');
    const res = await upload(server, bytes, { filename: 'shoe.jpg' });
    assert.equal(res.status, 201);
    const body = await json(res);
    assert.equal(body.md5Checksum, md5(bytes));
    assert.ok((await keys(bucket)).includes(`originals/${sha256(bytes).slice(0, 2)}/${sha256(bytes).slice(2, 4)}/${sha256(bytes)}`));
    assert.deepEqual(await server.storedFiles(), []);
  });

  test('placeholders are made after the 201 from the bytes in the bucket (the temp file is gone by then)', async () => {
    const created = await json(await upload(server, await fixture('exif-6.jpg'), { filename: 'portrait.jpg' }));
    for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 50))) {
      const got = await json(await fetch(`${server.url}/assets/${created.id}`));
      if (got.thumbhash !== undefined) {
        assert.match(got.dominantColor, /^#[0-9a-f]{6}$/);
        break;
      }
      assert.ok(Date.now() < deadline, 'no placeholders after 10 s');
    }
  });

  test('/images/{id} → 303 to a presigned URL that serves the exact bytes, named like the asset', async () => {
    const bytes = await fixture('image.png');
    const body = await json(await upload(server, bytes, { filename: 'red dot.png' }));
    const res = await fetch(`${server.url}/images/${body.id}`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location') ?? '');
    assert.equal(location.origin, s3.endpoint);
    assert.match(location.pathname, new RegExp(`/ams/originals/.*/${sha256(bytes)}$`));
    assert.equal(location.searchParams.get('X-Amz-Expires'), '120');
    assert.equal(res.headers.get('cache-control'), 'private, max-age=60');
    const direct = await fetch(location);
    assert.equal(direct.status, 200);
    assert.ok(Buffer.from(await direct.arrayBuffer()).equals(bytes));
    assert.equal(location.searchParams.get('response-content-disposition'), "inline; filename*=UTF-8''red%20dot.png");
    // href stays the service's own stable URL.
    assert.equal(body.href, `http://media.example.test/images/${body.id}.png`);
  });

  test('the file URL streams from S3 with the same headers as from disk; Range and HEAD pass through', async () => {
    const bytes = await fixture('clip.mp4');
    const body = await json(await upload(server, bytes, { filename: 'phone clip.mp4' }));
    const url = server.local(body.href);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes));
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.equal(res.headers.get('etag'), `"${sha256(bytes)}"`);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(res.headers.get('content-disposition'), "inline; filename*=UTF-8''phone%20clip.mp4");
    const n = bytes.length;
    for (const [header, start, end] of [
      ['bytes=0-0', 0, 0],
      ['bytes=100-1099', 100, 1099],
      ['bytes=-500', n - 500, n - 1],
      [`bytes=${n - 10}-`, n - 10, n - 1],
    ] as const) {
      const part = await fetch(url, { headers: { range: header } });
      assert.equal(part.status, 206, header);
      assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${n}`);
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(start, end + 1)), header);
    }
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(n));
  });

  test('identical bytes uploaded at once: both 201 with their own ids, one object in the bucket', async () => {
    const bytes = await fixture('image.webp');
    const before = await keys(bucket);
    const results = await Promise.all([1, 2, 3].map(() => upload(server, bytes)));
    const ids = new Set<string>();
    for (const r of results) {
      assert.equal(r.status, 201);
      ids.add((await json(r)).id);
    }
    assert.equal(ids.size, 3);
    const added = (await keys(bucket)).filter((k) => !before.includes(k));
    assert.deepEqual(added, [`originals/${sha256(bytes).slice(0, 2)}/${sha256(bytes).slice(2, 4)}/${sha256(bytes)}`]);
  });

  test('a refused upload leaves nothing in the bucket or on disk', async () => {
    const before = await keys(bucket);
    const res = await upload(server, await fixture('truncated.jpg'));
    assert.equal(res.status, 400);
    assert.deepEqual(await keys(bucket), before);
    assert.deepEqual(await server.storedFiles(), []);
  });

  test('S3 down → uploads and file reads get 503 STORAGE_UNAVAILABLE, /readyz names storage; it recovers by itself', async () => {
    const bytes = await fixture('anim.gif');
    const stored = await json(await upload(server, bytes));
    await s3.stop();
    try {
      const up = await upload(server, await fixture('exif-6.jpg'));
      assert.equal(up.status, 503);
      assert.equal((await json(up)).code, 'STORAGE_UNAVAILABLE');
      assert.equal(up.headers.get('retry-after'), '5');
      const read = await fetch(server.local(stored.href));
      assert.equal(read.status, 503);
      await read.arrayBuffer();
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 503);
      const checks = (await json(ready)).checks;
      assert.equal(checks.storage.ok, false);
      assert.equal(checks.database.ok, true);
      assert.deepEqual(await server.storedFiles(), []);
    } finally {
      await s3.start();
    }
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    const again = await fetch(server.local(stored.href));
    assert.ok(Buffer.from(await again.arrayBuffer()).equals(bytes));
    assert.equal((await upload(server, await fixture('exif-6.jpg'))).status, 201);
  });
});

describe('AMS_S3_PUBLIC_URL: redirects go to the CDN / public bucket instead of a presigned URL', () => {
  let s3: TestS3;
  let server: TestServer;
  before(async () => {
    s3 = await startS3();
    server = await startServer({ ...s3.env('cdn/'), AMS_S3_PUBLIC_URL: 'https://cdn.example.test/' });
  });
  after(async () => {
    await server.close();
    await s3.close();
  });

  test('/images/{id} → 303 to <public base>/<prefix><key>', async () => {
    const bytes = await fixture('photo.jpg');
    const body = await json(await upload(server, bytes));
    const res = await fetch(`${server.url}/images/${body.id}`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    const h = sha256(bytes);
    assert.equal(res.headers.get('location'), `https://cdn.example.test/cdn/originals/${h.slice(0, 2)}/${h.slice(2, 4)}/${h}`);
  });
});

describe('AMS_STORAGE=s3: video posters read the object with range requests, not a whole copy', () => {
  test('a 16 MiB video: its poster reads a part of it from the bucket, and leaves no temp file', async (t) => {
    const s3 = await startS3();
    const proxy = await startTcpProxy(s3.port);
    const server = await startServer({ ...s3.env('p/'), AMS_S3_ENDPOINT: `http://127.0.0.1:${proxy.port}` });
    t.after(async () => {
      await server.close();
      await proxy.close();
      await s3.close();
    });
    // clip.mp4 (moov first) followed by a 16 MiB free box: a valid MP4 that ffmpeg never needs to read far into.
    const pad = Buffer.alloc(16 * 1024 * 1024);
    pad.writeUInt32BE(pad.length, 0);
    pad.write('free', 4, 'latin1');
    const video = Buffer.concat([await fixture('clip.mp4'), pad]);
    const body = await json(await upload(server, video, { filename: 'padded.mp4' }));
    assert.equal(body.mimeType, 'video/mp4');
    const before = proxy.bytesFromTarget;
    const res = await fetch(`${server.url}/videos/${body.id}/poster.jpg?width=80`);
    assert.equal(res.status, 200, await res.clone().text());
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 80, 60]);
    // ffmpeg asks for bytes=0- and stops reading once it has its frame; what the socket buffers held
    // by then still crosses the proxy (~2 MB here). A whole copy would read all of it.
    const read = proxy.bytesFromTarget - before;
    assert.ok(read < video.length / 2, `the poster read ${read} bytes from the bucket for a ${video.length}-byte video`);
    assert.deepEqual(await server.storedFiles(), []);
  });
});

