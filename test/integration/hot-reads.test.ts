import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/deps.js';
import type { AssetRepository } from '../../src/meta/repository.js';
import { waitFor } from '../helpers/process.js';
import { fixture, PUBLIC_URL, TOKEN } from '../helpers/server.js';

/**
 * The hot-read path (src/http/hot-reads.ts) against the routes it stands in front of: two apps on
 * one data directory and database, one with hot reads and one without (AMS_HOT_READS=false), must
 * give the same answers (status, every header but the request id and date, body), count the same
 * metrics and log the same access lines. The repository is wrapped to count database lookups, which tells which path
 * answered: the hot path reads only rows already in memory.
 */
interface Served {
  app: FastifyInstance;
  url: string;
  lines: Array<Record<string, unknown>>;
}

async function serve(deps: Parameters<typeof buildApp>[0], hotReads: boolean): Promise<Served> {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = { ...deps.config, cache: { ...deps.config.cache, hotReads } }; // AMS_HOT_READS
  const app = await buildApp({ ...deps, config, logger: { level: 'info', stream } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { app, url: `http://127.0.0.1:${address.port}`, lines };
}

interface Seen {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
  requestId: string | null;
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Seen> {
  const res = await fetch(url, { method, headers, redirect: 'manual' });
  const body = Buffer.from(await res.arrayBuffer());
  const kept = [...res.headers].filter(([name]) => name !== 'x-request-id' && name !== 'date').sort();
  return { status: res.status, headers: kept, body, requestId: res.headers.get('x-request-id') };
}

describe('hot reads answer exactly as the routes do', () => {
  let dataDir: string;
  let close: () => Promise<void>;
  let hot: Served;
  let plain: Served;
  let lookups = 0;
  const ids: Record<string, string> = {};
  const files: Record<string, string> = {};

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-hot-'));
    // Rows stay cached for the whole test (default 5 s): on a loaded machine the warm-up can be
    // older than that when a test runs, and an expired row is rightly not answered from memory.
    const config = loadConfig({ AMS_DATA_DIR: dataDir, AMS_TOKENS: TOKEN, AMS_PUBLIC_URL: PUBLIC_URL, AMS_LOG_LEVEL: 'silent', AMS_CACHE_ROW_TTL_MS: '600000' });
    const runtime = await createRuntime(config);
    const repo = runtime.deps.repo;
    const counted: AssetRepository = Object.assign(Object.create(repo) as AssetRepository, {
      findById: (id: string) => {
        lookups++;
        return repo.findById(id);
      },
    });
    const deps = { ...runtime.deps, repo: counted };
    hot = await serve(deps, true);
    plain = await serve(deps, false);
    close = async () => {
      await hot.app.close();
      await plain.app.close();
      await runtime.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    };
    for (const [name, type] of [['photo.jpg', 'image/jpeg'], ['clip.mp4', 'video/mp4']] as const) {
      const form = new FormData();
      form.append('Filename', new Blob([await fixture(name)], { type }), name);
      const res = await fetch(`${hot.url}/assets`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: form });
      assert.equal(res.status, 201);
      const body = (await res.json()) as { id: string; href: string };
      ids[name] = body.id;
      files[name] = new URL(body.href).pathname;
    }
    // The photo's placeholders are added after its 201, which drops its row from the cache (each
    // app has its own queue: both may write them): wait for them. Then the first reads go to the
    // database and fill the row cache and each app's file cache, until the hot app answers each
    // read from memory three times running.
    await waitFor(async () => 'thumbhash' in (JSON.parse((await get(`${plain.url}/assets/${ids['photo.jpg']}`)).body.toString()) as object), 15_000, 'placeholders');
    for (const p of [`/assets/${ids['photo.jpg']}`, `/assets/${ids['clip.mp4']}`, files['photo.jpg'], files['clip.mp4']]) await untilAnsweredFromMemory(p as string);
  });
  after(() => close());

  /**
   * Asks the plain app for `p` (which fills the shared row cache, and makes and stores a derivative)
   * until the hot app has answered it 200 or 304 from memory three times running.
   */
  async function untilAnsweredFromMemory(p: string): Promise<void> {
    await waitFor(async () => {
      await get(`${plain.url}${p}`);
      for (let i = 0; i < 3; i++) {
        const before = lookups;
        const seen = await get(`${hot.url}${p}`);
        if (lookups !== before || seen.status >= 400) return false;
        await sleep(50);
      }
      return true;
    }, 15_000, `${p} answered from memory`);
  }

  /** The same request to both apps: same answer; the hot app must not have asked the database when `answeredHot`. */
  async function same(p: string, headers: Record<string, string> = {}, answeredHot = true, method = 'GET'): Promise<Seen> {
    const before = lookups;
    const a = await get(`${hot.url}${p}`, headers, method);
    const hotLookups = lookups - before;
    const b = await get(`${plain.url}${p}`, headers, method);
    assert.deepEqual(a.headers, b.headers, `headers of ${method} ${p}`);
    assert.equal(a.status, b.status, `status of ${method} ${p}`);
    assert.ok(a.body.equals(b.body), `body of ${method} ${p}`);
    assert.match(a.requestId ?? '', /^[\w.:-]+$/);
    if (answeredHot) assert.equal(hotLookups, 0, `${method} ${p} should be answered from memory`);
    return a;
  }

  test("an asset's JSON, and 304 when If-None-Match has its ETag", async () => {
    for (const name of ['photo.jpg', 'clip.mp4']) {
      const seen = await same(`/assets/${ids[name]}`);
      assert.equal(seen.status, 200);
      assert.equal((JSON.parse(seen.body.toString()) as { id: string }).id, ids[name]);
      assert.ok(seen.headers.some(([k, v]) => k === 'content-length' && v === String(seen.body.length)));
      const etag = new Map(seen.headers).get('etag') as string;
      assert.equal((await same(`/assets/${ids[name]}`, { 'if-none-match': etag })).status, 304);
      assert.equal((await same(`/assets/${ids[name]}`, { 'if-none-match': `"x", W/${etag}` })).status, 304);
      assert.equal((await same(`/assets/${ids[name]}`, { 'if-none-match': '"other"' })).status, 200);
    }
  });

  test('a file: 200 with its bytes, 304 on a matching If-None-Match or a later If-Modified-Since', async () => {
    const photo = await fixture('photo.jpg');
    const seen = await same(files['photo.jpg'] as string);
    assert.equal(seen.status, 200);
    assert.ok(seen.body.equals(photo));
    const etag = new Map(seen.headers).get('etag') as string;
    assert.equal((await same(files['photo.jpg'] as string, { 'if-none-match': `"other", W/${etag}` })).status, 304);
    assert.equal((await same(files['photo.jpg'] as string, { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() })).status, 304);
    const video = await same(files['clip.mp4'] as string);
    assert.ok(video.body.equals(await fixture('clip.mp4')));
  });

  test("a derivative's canonical URL, once served from the store", async () => {
    const entry = await get(`${plain.url}/images/${ids['photo.jpg']}?width=40&format=webp`);
    assert.equal(entry.status, 303);
    const location = new Map(entry.headers).get('location') as string;
    const canonical = location.replace(PUBLIC_URL, '');
    // Made, then found stored (written behind), then known: from then on the hot path has it.
    await untilAnsweredFromMemory(canonical);
    const seen = await same(canonical);
    assert.equal(seen.status, 200);
    assert.equal(new Map(seen.headers).get('content-type'), 'image/webp');
    assert.equal(seen.body.subarray(8, 12).toString(), 'WEBP');
    assert.equal((await same(canonical, { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() })).status, 304);
    const etag = new Map(seen.headers).get('etag') as string;
    assert.equal((await same(canonical, { 'if-none-match': etag }, false)).status, 304);
    assert.equal((await same(canonical, {}, false, 'HEAD')).status, 200);
    assert.equal((await same(`${canonical}&x=1`, {}, false)).status, 303);
  });

  test("a video's default poster URL, once served from the store", async () => {
    const poster = `/videos/${ids['clip.mp4']}/poster.jpg`;
    await untilAnsweredFromMemory(poster);
    const seen = await same(poster);
    assert.equal(new Map(seen.headers).get('content-type'), 'image/jpeg');
    assert.equal((await same(`/videos/${ids['clip.mp4']}/poster.png`, {}, false)).status, 200);
  });

  test('the incoming X-Request-Id is echoed on a hot answer, a bad one replaced', async () => {
    const p = `/assets/${ids['photo.jpg']}`;
    assert.equal((await get(`${hot.url}${p}`, { 'x-request-id': 'shop-42.a:b' })).requestId, 'shop-42.a:b');
    const replaced = (await get(`${hot.url}${p}`, { 'x-request-id': 'bad id"' })).requestId ?? '';
    assert.match(replaced, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  test('what the hot path declines is answered by the routes, the same on both apps', async () => {
    const photo = ids['photo.jpg'] as string;
    const file = files['photo.jpg'] as string;
    const declined: Array<[string, Record<string, string>, string, number]> = [
      [`/assets/${photo.toUpperCase()}`, {}, 'GET', 200],
      [`/assets/${photo}?fields=all`, {}, 'GET', 200],
      [`/assets/${photo}`, {}, 'HEAD', 200],
      [`/assets/00000000-0000-4000-8000-000000000000`, {}, 'GET', 404],
      [`/assets/not-an-id`, {}, 'GET', 404],
      [file, { range: 'bytes=0-9' }, 'GET', 206],
      [file, { range: 'bytes=999999999-' }, 'GET', 416],
      [file, { 'if-match': '"nope"' }, 'GET', 412],
      [file, {}, 'HEAD', 200],
      [file.replace('.jpg', '.JPG'), {}, 'GET', 200],
      [file.replace('.jpg', '.png'), {}, 'GET', 404],
      [file.replace('/images/', '/videos/'), {}, 'GET', 404],
      [`${file}?width=40`, {}, 'GET', 200],
      [`/images/${photo}`, {}, 'GET', 303],
    ];
    for (const [p, headers, method, status] of declined) {
      const seen = await same(p, headers, false, method);
      assert.equal(seen.status, status, `${method} ${p}`);
    }
  });

  test('hot answers are counted in the metrics and logged as the routes log them', async () => {
    const metric = async (s: Served) => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      return text.split('\n').filter((l) => l.startsWith('ams_http_requests_total{method="GET",route="/assets/:assetId",status="200"}') || l.startsWith('ams_http_requests_total{method="GET",route="/images/:file",status="200"}'));
    };
    const before = await metric(hot);
    for (let i = 0; i < 3; i++) await same(`/assets/${ids['photo.jpg']}`);
    await same(files['photo.jpg'] as string);
    const afterHot = await metric(hot);
    const count = (lines: string[], route: string) => Number(lines.find((l) => l.includes(route))?.split(' ')[1] ?? 0);
    assert.equal(count(afterHot, '/assets/:assetId') - count(before, '/assets/:assetId'), 3);
    assert.equal(count(afterHot, '/images/:file') - count(before, '/images/:file'), 1);
    const access = (s: Served, url: string) =>
      s.lines.filter((l) => l.msg === 'request' && l.url === url).map(({ level, method, statusCode, msg }) => ({ level, method, statusCode, msg }));
    const url = `/assets/${ids['photo.jpg']}`;
    assert.deepEqual(access(hot, url).slice(-3), access(plain, url).slice(-3));
    const last = hot.lines.filter((l) => l.url === url).at(-1) as Record<string, unknown>;
    assert.deepEqual(Object.keys(last), Object.keys(plain.lines.filter((l) => l.url === url).at(-1) as object));
    assert.equal(typeof last.reqId, 'string');
    assert.equal(typeof last.ms, 'number');
  });
});
