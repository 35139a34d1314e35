import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { loadConfig } from '../../src/config.js';
import { counterTotal, derivativeMetrics } from '../../src/derivatives/metrics.js';
import { signDerivativeUrl } from '../../src/derivatives/sign-url.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { expected, fixture, json, PUBLIC_URL, startServer, upload, type TestServer } from '../helpers/server.js';

// Posters need Debian's ffmpeg (CI installs it): without it these tests fail here, they never skip.
execFileSync('ffmpeg', ['-version'], { stdio: 'ignore', timeout: 10_000 });

const VIDEOS = Object.entries(expected).filter(([, e]) => e.kind === 'video');
const transforms = () => counterTotal(derivativeMetrics.transforms);
const hits = () => counterTotal(derivativeMetrics.hits);

/** clip.mp4 with every byte of its media data zeroed: the container is intact, no frame decodes. */
async function undecodableMp4(): Promise<Buffer> {
  const bytes = Buffer.from(await fixture('clip.mp4'));
  const at = bytes.indexOf('mdat');
  bytes.fill(0, at + 4, at - 4 + bytes.readUInt32BE(at - 4));
  return bytes;
}

/** The commands of this process's children (ffmpeg runs as a child of the in-process server). */
function children(): string[] {
  try {
    return execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

async function noChildLike(pattern: RegExp) {
  for (let i = 0; i < 50 && children().some((c) => pattern.test(c)); i++) await sleep(20);
  assert.deepEqual(children().filter((c) => pattern.test(c)), [], 'a child process was left running');
}

function posterClient(server: () => TestServer) {
  /** Asks for a poster, follows the 303 by hand (its Location is on the public URL). */
  async function poster(id: string, query = '', headers: Record<string, string> = {}) {
    const first = await fetch(`${server().url}/videos/${id}/poster${query}`, { redirect: 'manual', headers });
    assert.equal(first.status, 303, `poster${query}: ${first.status} ${first.status >= 400 ? await first.text() : ''}`);
    const location = first.headers.get('location') ?? '';
    const res = await fetch(server().local(location), { redirect: 'manual', headers });
    assert.equal(res.status, 200, `${location}: ${res.status} ${res.status >= 400 ? await res.text() : ''}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    return { location, res, bytes, meta: await sharp(bytes).metadata() };
  }
  return poster;
}

describe('video posters', () => {
  let server: TestServer;
  const ids: Record<string, string> = {};
  const poster = posterClient(() => server);
  before(async () => {
    server = await startServer();
    for (const [name] of VIDEOS) ids[name] = (await json(await upload(server, await fixture(name), { filename: name }))).id;
  });
  after(() => server.close());

  for (const [name, e] of VIDEOS) {
    test(`${name}: the default poster is a ${e.width}x${e.height} JPEG, then served from the cache`, async () => {
      const id = ids[name] as string;
      const a = await poster(id);
      assert.equal(a.location, `${PUBLIC_URL}/videos/${id}/poster.jpg`);
      assert.equal(a.res.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual([a.meta.format, a.meta.width, a.meta.height], ['jpeg', e.width, e.height]);
      // A real picture: decodes fully, and is not one flat colour.
      const stats = await sharp(a.bytes).stats();
      assert.ok(stats.channels.some((c) => c.stdev > 1), 'the poster is a blank frame');
      const [t0, h0] = [await transforms(), await hits()];
      const b = await poster(id);
      assert.ok(b.bytes.equals(a.bytes));
      assert.equal(b.res.headers.get('etag'), a.res.headers.get('etag'));
      assert.equal(await transforms(), t0, 'the second request ran ffmpeg again');
      assert.ok((await hits()) + (await counterTotal(derivativeMetrics.coalesced)) > h0);
    });
  }

  test('the rotated phone video gives a portrait poster, resized and converted like an image', async () => {
    const id = ids['rotated-90.mp4'] as string;
    const p = await poster(id, '?width=120&format=webp');
    assert.equal(p.location, `${PUBLIC_URL}/videos/${id}/poster.webp?width=120`);
    assert.deepEqual([p.meta.format, p.meta.width, p.meta.height], ['webp', 120, 160]);
    const thumb = await poster(id, '?preset=thumb&format=auto', { accept: 'image/avif,image/webp,*/*' });
    assert.equal(thumb.location, `${PUBLIC_URL}/videos/${id}/poster.avif?width=240&height=240`);
    assert.deepEqual([thumb.meta.width, thumb.meta.height], [240, 240]);
  });

  test('time picks the frame, is clamped to the duration, and names its own cached poster', async () => {
    const id = ids['clip.mp4'] as string;
    const start = await poster(id);
    const half = await poster(id, '?time=0.5');
    assert.equal(half.location, `${PUBLIC_URL}/videos/${id}/poster.jpg?time=0.5`);
    assert.notEqual(half.res.headers.get('etag'), start.res.headers.get('etag'));
    const late = await poster(id, '?time=3600');
    assert.equal(late.location, `${PUBLIC_URL}/videos/${id}/poster.jpg?time=1`, 'clamped to the 1 s duration');
    assert.deepEqual([late.meta.width, late.meta.height], [160, 120], 'past the last frame: still a poster');
    const bad = await fetch(`${server.url}/videos/${id}/poster?time=-1`, { redirect: 'manual' });
    assert.equal(bad.status, 400);
    assert.equal((await json(bad)).code, 'INVALID_PARAMETER');
  });

  test('the poster file supports Range, If-None-Match and HEAD like any derivative', async () => {
    const id = ids['clip.webm'] as string;
    const { location, res, bytes } = await poster(id);
    const url = server.local(location);
    const etag = res.headers.get('etag') ?? '';
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    const part = await fetch(url, { headers: { range: 'bytes=0-9' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(0, 10)));
    assert.equal((await fetch(url, { headers: { 'if-none-match': etag } })).status, 304);
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(bytes.length));
  });

  test('the published contract is unchanged: /images of a video is 400, /videos/{id} still redirects to the file', async () => {
    const id = ids['clip.mp4'] as string;
    for (const q of ['', '?width=100']) {
      const res = await fetch(`${server.url}/images/${id}${q}`, { redirect: 'manual' });
      assert.equal(res.status, 400, `/images/{video}${q}`);
      assert.equal((await json(res)).code, 'WRONG_ASSET_TYPE');
    }
    const file = await fetch(`${server.url}/videos/${id}?width=100`, { redirect: 'manual' });
    assert.equal(file.status, 303);
    assert.equal(file.headers.get('location'), `${PUBLIC_URL}/videos/${id}.mp4`);
    const photo = (await json(await upload(server, await fixture('photo.jpg'), { filename: 'p.jpg' }))).id;
    const wrong = await fetch(`${server.url}/videos/${photo}/poster`, { redirect: 'manual' });
    assert.equal(wrong.status, 400);
    assert.equal((await json(wrong)).code, 'WRONG_ASSET_TYPE');
  });

  test('an undecodable video: 422 POSTER_FAILED, nothing cached, no ffmpeg left running', async () => {
    const broken = await undecodableMp4();
    const created = await upload(server, broken, { filename: 'broken.mp4' });
    assert.equal(created.status, 201, 'the container is intact, so the upload is accepted');
    const { id } = await json(created);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${server.url}/videos/${id}/poster.jpg`);
      assert.equal(res.status, 422);
      const body = await json(res);
      assert.equal(body.code, 'POSTER_FAILED');
      assert.match(body.message, /No poster frame could be decoded/);
    }
    const sha256 = createHash('sha256').update(broken).digest('hex');
    assert.deepEqual((await server.storedFiles()).filter((f) => f.includes('derivatives') && f.includes(sha256)), []);
    await noChildLike(/ffmpeg/);
  });
});

test('the OpenAPI document describes the poster URLs and their time parameter', async () => {
  const server = await startServer();
  try {
    const doc = await json(await fetch(`${server.url}/openapi.json`));
    const entry = doc.paths['/videos/{id}/poster'].get;
    const query = entry.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name);
    assert.deepEqual(query, ['width', 'height', 'fit', 'format', 'quality', 'dpr', 'preset', 'enlarge', 'sig', 'time']);
    assert.match(entry.description, /AMS_FFMPEG_PATH/);
    const file = doc.paths['/videos/{id}/poster.{ext}'].get;
    for (const status of ['200', '206', '304', '422', '501']) assert.ok(file.responses[status], status);
  } finally {
    await server.close();
  }
});

describe('video posters: bounds and a missing ffmpeg', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-fake-ffmpeg-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  test('AMS_FFMPEG_PATH naming no binary: the service starts and works, posters answer 501 naming the setting', async () => {
    const server = await startServer({ AMS_FFMPEG_PATH: path.join(dir, 'no-such-ffmpeg') });
    try {
      const video = (await json(await upload(server, await fixture('clip.mp4'), { filename: 'clip.mp4' }))).id;
      for (const url of [`/videos/${video}/poster`, `/videos/${video}/poster.jpg?width=100`]) {
        const res = await fetch(`${server.url}${url}`, { redirect: 'manual' });
        assert.equal(res.status, 501, url);
        const body = await json(res);
        assert.equal(body.code, 'FFMPEG_UNAVAILABLE');
        assert.match(body.message, /AMS_FFMPEG_PATH/);
      }
      // The rest of the service does not depend on ffmpeg.
      const file = await fetch(`${server.url}/videos/${video}.mp4`);
      assert.equal(file.status, 200);
      assert.ok(Buffer.from(await file.arrayBuffer()).equals(await fixture('clip.mp4')));
      const photo = (await json(await upload(server, await fixture('photo.jpg'), { filename: 'p.jpg' }))).id;
      const thumb = await fetch(`${server.url}/images/${photo}?width=100`, { redirect: 'manual' });
      assert.equal(thumb.status, 303);
      assert.equal((await fetch(server.local(thumb.headers.get('location') ?? ''))).status, 200);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  test('with AMS_SIGNING_KEYS a poster URL needs its signature; the 303 and `ams sign-url` carry one', async () => {
    const env = { AMS_SIGNING_KEYS: 'poster-signing-key-0123456789' };
    const server = await startServer(env);
    try {
      const video = (await json(await upload(server, await fixture('clip.mp4'), { filename: 'clip.mp4' }))).id;
      const unsigned = await fetch(`${server.url}/videos/${video}/poster.jpg?width=100`);
      assert.equal(unsigned.status, 403);
      assert.equal((await json(unsigned)).code, 'SIGNATURE_INVALID');
      const signed = signDerivativeUrl(`/videos/${video}/poster?width=100&format=webp`, loadConfig({ ...env, AMS_PUBLIC_URL: PUBLIC_URL }));
      const entry = await fetch(server.local(signed), { redirect: 'manual' });
      assert.equal(entry.status, 303);
      const location = entry.headers.get('location') ?? '';
      assert.match(location, /\/poster\.webp\?width=100&sig=/);
      assert.equal(location, signDerivativeUrl(location, loadConfig({ ...env, AMS_PUBLIC_URL: PUBLIC_URL })));
      assert.equal((await fetch(server.local(location))).status, 200);
      // Signed past the end (the signer does not know the duration): accepted, then clamped.
      const late = signDerivativeUrl(`/videos/${video}/poster.jpg?time=3600`, loadConfig({ ...env, AMS_PUBLIC_URL: PUBLIC_URL }));
      const clamped = await fetch(server.local(late), { redirect: 'manual' });
      assert.equal(clamped.status, 303);
      assert.match(clamped.headers.get('location') ?? '', /\/poster\.jpg\?time=1&sig=/);
    } finally {
      await server.close();
    }
  });

  test('an ffmpeg that hangs is killed at AMS_DERIVATIVE_TIMEOUT_MS: 503, nothing cached, no process left', async () => {
    // Answers the start-up check like ffmpeg, then never produces a frame.
    const fake = path.join(dir, 'slow-ffmpeg');
    await fs.writeFile(fake, '#!/bin/sh\nif [ "$2" = "-version" ]; then echo "ffmpeg version fake"; exit 0; fi\nexec sleep 30\n', { mode: 0o755 });
    const server = await startServer({ AMS_FFMPEG_PATH: fake, AMS_DERIVATIVE_TIMEOUT_MS: '300' });
    try {
      const video = (await json(await upload(server, await fixture('clip.mp4'), { filename: 'clip.mp4' }))).id;
      const t0 = Date.now();
      const res = await fetch(`${server.url}/videos/${video}/poster.jpg`);
      assert.equal(res.status, 503);
      assert.equal((await json(res)).code, 'DERIVATIVE_TIMEOUT');
      assert.ok(Date.now() - t0 < 5000, 'answered near the timeout');
      await noChildLike(/sleep 30/);
      assert.deepEqual((await server.storedFiles()).filter((f) => f.includes('derivatives')), []);
    } finally {
      await server.close();
    }
  });
});

describe('video posters with AMS_STORAGE=s3: ffmpeg reads a temporary copy, removed afterwards', () => {
  let s3: TestS3;
  let server: TestServer;
  before(async () => {
    s3 = await startS3();
    server = await startServer(s3.env('posters/'));
  });
  after(async () => {
    await server?.close();
    await s3.close();
  });

  test('the rotated video: a portrait poster, cached in the bucket; no temp file left', async () => {
    const id = (await json(await upload(server, await fixture('rotated-90.mp4'), { filename: 'phone.mp4' }))).id;
    const poster = posterClient(() => server);
    const a = await poster(id, '?width=120');
    assert.deepEqual([a.meta.width, a.meta.height], [120, 160]);
    const t0 = await transforms();
    const b = await poster(id, '?width=120');
    assert.ok(b.bytes.equals(a.bytes));
    assert.equal(await transforms(), t0);
    assert.deepEqual(await fs.readdir(path.join(server.dataDir, 'tmp')), []);
  });
});
