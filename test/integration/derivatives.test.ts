import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { counterTotal, derivativeMetrics } from '../../src/derivatives/metrics.js';
import { fixture, json, PUBLIC_URL, startServer, upload, type TestServer } from '../helpers/server.js';

const CHROME_ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
const transforms = () => counterTotal(derivativeMetrics.transforms);
/** Requests answered without a transform: from the store, or from a transform already done and being stored. */
const served = async () => (await counterTotal(derivativeMetrics.hits)) + (await counterTotal(derivativeMetrics.coalesced));

/** Bounded poll: derivatives are stored write-behind, so the blob lands just after the first response. */
async function eventually(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`not within 5 s: ${what}`);
}

/** Resize, convert, negotiate, cache: what a storefront asks of a product photo. */
describe('image derivatives', () => {
  let server: TestServer;
  let photo: string; // 640x480 JPEG
  before(async () => {
    server = await startServer();
    photo = (await json(await upload(server, await fixture('photo.jpg'), { filename: 'shoe.jpg' }))).id;
  });
  after(() => server.close());

  const redirect = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { redirect: 'manual', headers });
  /** Follows the 303 by hand (its Location is on the public URL) and returns the derivative. */
  async function derive(path: string, headers: Record<string, string> = {}) {
    const first = await redirect(path, headers);
    assert.equal(first.status, 303, `${path}: ${first.status}`);
    const location = first.headers.get('location') ?? '';
    const res = await fetch(server.local(location), { redirect: 'manual' });
    assert.equal(res.status, 200, `${location}: ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    return { location, res, bytes, meta: await sharp(bytes).metadata() };
  }

  test("the console's thumbnail URLs answer 303 to the canonical derivative, which is a WebP of that size", async () => {
    const a = await derive(`/images/${photo}?width=240&format=webp`);
    assert.equal(a.location, `${PUBLIC_URL}/images/${photo}.webp?width=240`);
    assert.equal(a.res.headers.get('content-type'), 'image/webp');
    assert.deepEqual([a.meta.format, a.meta.width, a.meta.height], ['webp', 240, 180]);
    const b = await derive(`/images/${photo}?width=240&format=webp&height=240&fit=cover`);
    assert.equal(b.location, `${PUBLIC_URL}/images/${photo}.webp?width=240&height=240`);
    assert.deepEqual([b.meta.width, b.meta.height], [240, 240]);
  });

  test('cache-busters and trackers do not break an image: they are dropped on the way to the canonical URL', async () => {
    const original = `${PUBLIC_URL}/images/${photo}.jpg`;
    for (const path of [`/images/${photo}?v=3`, `/images/${photo}.jpg?v=3`, `/images/${photo}.jpg?utm_source=news&fbclid=IwAR0`]) {
      const res = await redirect(path);
      assert.equal(res.status, 303, path);
      assert.equal(res.headers.get('location'), original, path);
    }
    const original200 = await fetch(server.local(original));
    assert.deepEqual(Buffer.from(await original200.arrayBuffer()), await fixture('photo.jpg'));
    const d = await derive(`/images/${photo}?width=240&format=webp&v=3`);
    assert.equal(d.location, `${PUBLIC_URL}/images/${photo}.webp?width=240`);
    assert.equal(d.meta.width, 240);
    // A near miss of a parameter is a mistake to point out, not a cache-buster to drop.
    const typo = await redirect(`/images/${photo}?widht=240`);
    assert.equal(typo.status, 400);
    assert.match((await json(typo)).message, /Invalid widht="240"; use width instead/);
  });

  test('one URL per result: a width past the source is the source width, unless enlarge=true', async () => {
    for (const w of [640, 700, 1000, 4096]) {
      const res = await redirect(`/images/${photo}?width=${w}&format=webp`);
      assert.equal(res.headers.get('location'), `${PUBLIC_URL}/images/${photo}.webp?width=640`, `width=${w}`);
    }
    const bigger = await derive(`/images/${photo}?width=1000&format=webp&enlarge=true`);
    assert.equal(bigger.location, `${PUBLIC_URL}/images/${photo}.webp?width=1000&enlarge=true`);
    assert.equal(bigger.meta.width, 1000);
    // The non-canonical file URL redirects to the one URL too.
    const res = await redirect(`/images/${photo}.webp?width=900`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `${PUBLIC_URL}/images/${photo}.webp?width=640`);
  });

  test('equal requests share one URL: order, defaults, dpr and presets are normalised', async () => {
    const spellings = [
      'width=240&height=240&format=webp',
      'format=webp&height=240&width=240&fit=cover',
      'width=120&height=120&dpr=2&format=webp&quality=80',
      'preset=thumb&format=webp',
      'preset=thumb&format=webp&dpr=1',
    ];
    const locations = new Set<string>();
    for (const q of spellings) {
      const res = await redirect(`/images/${photo}?${q}`);
      assert.equal(res.status, 303, q);
      locations.add(res.headers.get('location') ?? '');
    }
    assert.deepEqual([...locations], [`${PUBLIC_URL}/images/${photo}.webp?width=240&height=240`]);
  });

  test('a non-canonical derivative URL redirects to the canonical one', async () => {
    const res = await redirect(`/images/${photo}.webp?height=100&width=100&fit=cover`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `${PUBLIC_URL}/images/${photo}.webp?width=100&height=100`);
    const jpeg = await redirect(`/images/${photo}.jpeg?width=100`);
    assert.equal(jpeg.headers.get('location'), `${PUBLIC_URL}/images/${photo}.jpg?width=100`);
  });

  test('every fit, on a 640x480 source asked for 200x200', async () => {
    const sizes: Record<string, [number, number]> = {
      cover: [200, 200],
      contain: [200, 200],
      fill: [200, 200],
      inside: [200, 150],
      outside: [267, 200],
    };
    for (const [fit, size] of Object.entries(sizes)) {
      const { meta } = await derive(`/images/${photo}?width=200&height=200&fit=${fit}&format=png`);
      assert.deepEqual([meta.width, meta.height], size, fit);
    }
  });

  test('every format, and quality changes the bytes', async () => {
    for (const format of ['jpeg', 'png', 'webp', 'avif'] as const) {
      const { meta, res } = await derive(`/images/${photo}?width=100&format=${format}`);
      assert.equal(meta.format === 'heif' ? 'avif' : meta.format, format);
      assert.equal(res.headers.get('content-type'), `image/${format}`);
    }
    const low = await derive(`/images/${photo}?width=300&format=jpeg&quality=10`);
    const high = await derive(`/images/${photo}?width=300&format=jpeg&quality=95`);
    assert.ok(low.bytes.length < high.bytes.length, `${low.bytes.length} < ${high.bytes.length}`);
    assert.match(low.location, /quality=10$/);
  });

  test('no upscaling unless asked; enlarge=true upscales', async () => {
    const plain = await derive(`/images/${photo}?width=1000&format=webp`);
    assert.deepEqual([plain.meta.width, plain.meta.height], [640, 480]);
    const big = await derive(`/images/${photo}?width=1000&format=webp&enlarge=true`);
    assert.deepEqual([big.meta.width, big.meta.height], [1000, 750]);
  });

  test('format=auto picks AVIF, then WebP, then the original, from Accept, with Vary: Accept', async () => {
    const cases: Array<[string | undefined, string]> = [
      [CHROME_ACCEPT, 'avif'],
      ['image/webp,image/png,*/*;q=0.8', 'webp'],
      ['image/avif;q=0,image/webp', 'webp'],
      ['*/*', 'jpg'],
      [undefined, 'jpg'],
    ];
    for (const [accept, ext] of cases) {
      const res = await redirect(`/images/${photo}?width=150&format=auto`, accept === undefined ? {} : { accept });
      assert.equal(res.status, 303, String(accept));
      assert.equal(res.headers.get('location'), `${PUBLIC_URL}/images/${photo}.${ext}?width=150`, String(accept));
      assert.match(res.headers.get('vary') ?? '', /accept/i);
    }
    const original = await redirect(`/images/${photo}?format=auto`, { accept: '*/*' });
    assert.equal(original.headers.get('location'), `${PUBLIC_URL}/images/${photo}.jpg`, 'nothing to change: the original');
  });

  test('a full-size conversion names its width; a bare other extension stays 404', async () => {
    const { location, meta } = await derive(`/images/${photo}?format=png`);
    assert.equal(location, `${PUBLIC_URL}/images/${photo}.png?width=640`);
    assert.deepEqual([meta.width, meta.height], [640, 480]);
    assert.equal((await fetch(`${server.url}/images/${photo}.png`)).status, 404);
  });

  test('the second request is a cache hit: no transform runs, the blob is under derivatives/<sha256>/', async () => {
    const path = `/images/${photo}.webp?width=77`;
    const [t0, s0] = [await transforms(), await served()];
    const first = await fetch(`${server.url}${path}`);
    const firstBytes = Buffer.from(await first.arrayBuffer());
    assert.equal(first.status, 200);
    assert.equal(await transforms(), t0 + 1);
    const second = await fetch(`${server.url}${path}`);
    assert.ok(Buffer.from(await second.arrayBuffer()).equals(firstBytes));
    assert.equal(await transforms(), t0 + 1, 'no second transform');
    assert.equal(await served(), s0 + 1);
    const stored = () => server.storedFiles().then((files) => files.filter((f) => f.endsWith('/width-77.webp')));
    await eventually(async () => (await stored()).length === 1, 'the derivative is stored');
    const third = await fetch(`${server.url}${path}`);
    assert.ok(Buffer.from(await third.arrayBuffer()).equals(firstBytes), 'from the store: the same bytes');
    assert.equal(await transforms(), t0 + 1);
    assert.match((await stored())[0] ?? '', /blobs\/derivatives\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}\/width-77\.webp$/);
  });

  test('served like an original: strong ETag, immutable caching, 304, Range, HEAD', async () => {
    const url = `${server.url}/images/${photo}.webp?width=90`;
    const full = await fetch(url);
    const bytes = Buffer.from(await full.arrayBuffer());
    const etag = full.headers.get('etag') ?? '';
    assert.match(etag, /^"[0-9a-f]{40}"$/);
    assert.equal(full.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(full.headers.get('content-length'), String(bytes.length));
    assert.equal(full.headers.get('content-disposition'), "inline; filename*=UTF-8''shoe.webp");
    const notModified = await fetch(url, { headers: { 'if-none-match': etag } });
    assert.equal(notModified.status, 304);
    const part = await fetch(url, { headers: { range: 'bytes=0-9' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(0, 10)));
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });

  test('a revalidation (If-None-Match) of a derivative not in the store answers 304 without a transform', async () => {
    const url = `${server.url}/images/${photo}.png?width=55`;
    const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag') ?? '';
    const t0 = await transforms();
    const other = await startServer(); // a fresh store: the same source has no derivative there yet
    try {
      const id = (await json(await upload(other, await fixture('photo.jpg'), { filename: 'shoe.jpg' }))).id;
      const res = await fetch(`${other.url}/images/${id}.png?width=55`, { headers: { 'if-none-match': etag } });
      assert.equal(res.status, 304);
      assert.equal(res.headers.get('etag'), etag, 'the ETag depends on the source and parameters only');
      assert.equal(await transforms(), t0);
    } finally {
      await other.close();
    }
  });

  test('20 concurrent identical requests run one transform and get identical bytes', async () => {
    const t0 = await transforms();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${server.url}/images/${photo}.avif?width=333&height=222&fit=fill`)),
    );
    const bodies = await Promise.all(responses.map(async (r) => Buffer.from(await r.arrayBuffer())));
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.ok(bodies.every((b) => b.equals(bodies[0] as Buffer)));
    assert.equal(await transforms(), t0 + 1);
  });
});

test('the OpenAPI document describes the derivative URL grammar on /images', async () => {
  const server = await startServer();
  try {
    const doc = await json(await fetch(`${server.url}/openapi.json`));
    const images = doc.paths['/images/{file}'].get;
    const query = images.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name);
    assert.deepEqual(query, ['width', 'height', 'fit', 'format', 'quality', 'dpr', 'preset', 'enlarge', 'sig']);
    assert.match(images.description, /canonical derivative URL/);
    const videos = doc.paths['/videos/{file}'].get;
    assert.ok(!(videos.parameters ?? []).some((p: { in: string }) => p.in === 'query'), 'videos take no derivative parameters');
  } finally {
    await server.close();
  }
});
