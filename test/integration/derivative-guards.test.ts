import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { signPath } from '../../src/derivatives/signing.js';
import { fixture, json, PUBLIC_URL, startServer, upload, type TestServer } from '../helpers/server.js';

const NEW_KEY = 'new-key-0123456789abcdef';
const OLD_KEY = 'old-key-0123456789abcdef';
const RETIRED_KEY = 'retired-0123456789abcdef';

async function putPhoto(server: TestServer, bytes?: Buffer): Promise<string> {
  return (await json(await upload(server, bytes ?? (await fixture('photo.jpg')), { filename: 'p.jpg' }))).id;
}
const derivativeFiles = async (server: TestServer) => (await server.storedFiles()).filter((f) => f.includes('/derivatives/'));

describe('signed derivative URLs (AMS_SIGNING_KEYS: a signing key and an older one still accepted)', () => {
  let server: TestServer;
  let id: string;
  before(async () => {
    server = await startServer({ AMS_SIGNING_KEYS: `${NEW_KEY},${OLD_KEY}` });
    id = await putPhoto(server);
  });
  after(() => server.close());

  const get = (pathAndQuery: string) => fetch(`${server.url}${pathAndQuery}`, { redirect: 'manual' });
  const signed = (key: string, path: string, query: string) => `${path}?${query}&sig=${signPath(key, `${path}?${query}`)}`;

  test('a valid signature → 303 to a derivative URL the server signed itself → 200', async () => {
    const res = await get(signed(NEW_KEY, `/images/${id}`, 'width=120&format=webp'));
    assert.equal(res.status, 303);
    const location = res.headers.get('location') ?? '';
    assert.match(location, new RegExp(`^${PUBLIC_URL}/images/${id}\\.webp\\?width=120&sig=[\\w-]{22}$`));
    const file = await fetch(server.local(location));
    assert.equal(file.status, 200);
    assert.equal((await sharp(Buffer.from(await file.arrayBuffer())).metadata()).width, 120);
  });

  test('a URL signed with the older key is still accepted (rotation)', async () => {
    const res = await get(signed(OLD_KEY, `/images/${id}.webp`, 'width=130'));
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });

  test('missing, tampered and retired-key signatures → 403, and nothing is computed', async () => {
    // Only this test's size: earlier tests' derivatives are stored write-behind and may still land.
    const computed = async () => (await derivativeFiles(server)).filter((f) => f.includes('width-140'));
    const good = signed(NEW_KEY, `/images/${id}.webp`, 'width=140');
    const cases: Array<[string, string, RegExp]> = [
      ['missing', `/images/${id}.webp?width=140`, /no signature/],
      ['missing on the redirect', `/images/${id}?width=140&format=webp`, /no signature/],
      ['tampered size', good.replace('width=140', 'width=1400'), /does not match/],
      ['tampered signature', good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA'), /does not match/],
      ['retired key', signed(RETIRED_KEY, `/images/${id}.webp`, 'width=140'), /does not match/],
      ['signed for another image', signed(NEW_KEY, `/images/${id}.avif`, 'width=140').replace('.avif', '.webp'), /does not match/],
    ];
    for (const [what, url, message] of cases) {
      const res = await get(url);
      assert.equal(res.status, 403, what);
      const body = await json(res);
      assert.equal(body.code, 'SIGNATURE_INVALID', what);
      assert.match(body.message, message, what);
      assert.match(body.message, /ams sign-url/);
    }
    assert.deepEqual(await computed(), []);
  });

  test('originals need no signature', async () => {
    const res = await get(`/images/${id}`);
    assert.equal(res.status, 303);
    assert.equal((await fetch(server.local(res.headers.get('location') ?? ''))).status, 200);
  });

  test('`ams sign-url` prints a canonical signed URL the server accepts', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      // The compiled CLI (npm test builds dist/ first), as an operator runs it.
      [fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)), 'sign-url', `/images/${id}?format=webp&preset=thumb&dpr=2`],
      { env: { ...process.env, AMS_SIGNING_KEYS: `${NEW_KEY},${OLD_KEY}`, AMS_PUBLIC_URL: PUBLIC_URL } },
    );
    const url = stdout.trim();
    assert.match(url, new RegExp(`^${PUBLIC_URL}/images/${id}\\?width=480&height=480&format=webp&sig=`));
    const res = await get(server.local(url).slice(server.url.length));
    assert.equal(res.status, 303);
  });
});

describe('presets-only mode', () => {
  let server: TestServer;
  let id: string;
  before(async () => {
    server = await startServer({ AMS_DERIVATIVE_PRESETS_ONLY: 'true', AMS_DERIVATIVE_PRESETS: 'thumb:width=100&height=100,card:width=300' });
    id = await putPhoto(server);
  });
  after(() => server.close());

  test('a preset (at any dpr and format) is served; any other size → 400 PRESET_REQUIRED', async () => {
    for (const q of ['preset=thumb&format=webp', 'preset=card&dpr=1.5', 'width=100&height=100']) {
      const res = await fetch(`${server.url}/images/${id}?${q}`, { redirect: 'manual' });
      assert.equal(res.status, 303, q);
      assert.equal((await fetch(server.local(res.headers.get('location') ?? ''))).status, 200, q);
    }
    for (const q of ['width=101', 'width=100&height=100&fit=fill', 'preset=thumb&quality=20']) {
      const res = await fetch(`${server.url}/images/${id}?${q}`, { redirect: 'manual' });
      assert.equal(res.status, 400, q);
      assert.match((await json(res)).message, /use preset=thumb\|card/);
    }
  });
});

describe('bounded work: a full queue answers 503, a timeout stores nothing', () => {
  test('one slot and no queue: concurrent distinct transforms get 503 + Retry-After, the rest succeed', async () => {
    const server = await startServer({ AMS_DERIVATIVE_CONCURRENCY: '1', AMS_DERIVATIVE_QUEUE: '0' });
    try {
      // Noise makes every transform do real work, so the six requests overlap.
      const noise = await sharp({
        create: { width: 700, height: 700, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
      })
        .jpeg()
        .toBuffer();
      const id = await putPhoto(server, noise);
      const responses = await Promise.all(
        Array.from({ length: 6 }, (_, i) => fetch(`${server.url}/images/${id}.avif?width=${600 + i}`)),
      );
      const statuses = responses.map((r) => r.status);
      assert.ok(statuses.includes(200), String(statuses));
      assert.ok(statuses.includes(503), String(statuses));
      for (const r of responses) {
        if (r.status === 503) {
          assert.equal(r.headers.get('retry-after'), '2');
          assert.equal((await json(r)).code, 'DERIVATIVES_BUSY');
        } else await r.arrayBuffer();
      }
      // Stored write-behind: bounded wait for the blobs of the transforms that ran, and only those.
      const ok = statuses.filter((s) => s === 200).length;
      for (let i = 0; i < 100 && (await derivativeFiles(server)).length < ok; i++) await sleep(50);
      assert.equal((await derivativeFiles(server)).length, ok);
    } finally {
      await server.close();
    }
  });

  test('a transform past its budget → 503 DERIVATIVE_TIMEOUT, nothing cached; format=auto falls back from AVIF to WebP', async () => {
    const server = await startServer({ AMS_DERIVATIVE_TIMEOUT_MS: '1' });
    try {
      const id = await putPhoto(server);
      const res = await fetch(`${server.url}/images/${id}.avif?width=600`);
      assert.equal(res.status, 503);
      assert.equal((await json(res)).code, 'DERIVATIVE_TIMEOUT');
      const auto = await fetch(`${server.url}/images/${id}?width=600&format=auto`, {
        redirect: 'manual',
        headers: { accept: 'image/avif,image/webp,*/*' },
      });
      assert.equal(auto.status, 303);
      assert.equal(auto.headers.get('location'), `${PUBLIC_URL}/images/${id}.webp?width=600`);
      assert.deepEqual(await derivativeFiles(server), [], 'a timed-out derivative is never cached');
    } finally {
      await server.close();
    }
  });
});
