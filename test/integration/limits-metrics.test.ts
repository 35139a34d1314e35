import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fixture, json, startServer, TOKEN, upload, type TestServer } from '../helpers/server.js';

describe('upload rate limits', () => {
  test('per token: the 3rd upload in the window → 429 with Retry-After; GETs are not limited', async () => {
    const server = await startServer({ AMS_UPLOAD_RATE_PER_TOKEN: '2', AMS_RATE_WINDOW_S: '3600' });
    try {
      const photo = await fixture('photo.jpg');
      assert.equal((await upload(server, photo)).status, 201);
      assert.equal((await upload(server, photo)).status, 201);
      const stored = await server.storedFiles();
      const res = await upload(server, photo);
      assert.equal(res.status, 429);
      const retryAfter = Number(res.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
      const body = await json(res);
      assert.equal(body.code, 'RATE_LIMITED');
      assert.match(body.message, /token; retry after \d+ s/);
      assert.deepEqual(await server.storedFiles(), stored, 'a limited upload stores nothing');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  test('per IP: counted before authentication, so bad tokens are throttled too', async () => {
    const server = await startServer({ AMS_UPLOAD_RATE_PER_IP: '1', AMS_RATE_WINDOW_S: '3600' });
    try {
      const photo = await fixture('photo.jpg');
      assert.equal((await upload(server, photo, { token: 'wrong-token-0123456789' })).status, 401);
      const res = await upload(server, photo);
      assert.equal(res.status, 429);
      assert.match((await json(res)).message, /IP address/);
    } finally {
      await server.close();
    }
  });
});

describe('/metrics and CORS', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ AMS_CORS_UPLOAD_ORIGINS: 'https://admin.example.test' });
  });
  after(() => server.close());

  test('Prometheus text: requests by route and status, upload bytes and stages, in-flight uploads', async () => {
    const photo = await fixture('photo.jpg');
    const created = await json(await upload(server, photo));
    await fetch(`${server.url}/assets/${created.id}`);
    await fetch(`${server.url}/assets/00000000-0000-0000-0000-000000000000`);
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /ams_http_requests_total\{method="POST",route="\/assets",status="201"\} 1/);
    assert.match(text, /ams_http_requests_total\{method="GET",route="\/assets\/:assetId",status="200"\} 1/);
    assert.match(text, /ams_http_requests_total\{method="GET",route="\/assets\/:assetId",status="404"\} 1/);
    assert.match(text, /ams_http_request_duration_seconds_count\{method="POST",route="\/assets",status="201"\} 1/);
    assert.match(text, new RegExp(`ams_upload_bytes_total ${photo.length}\\b`));
    for (const stage of ['receive', 'hash', 'probe', 'store', 'commit']) {
      assert.match(text, new RegExp(`ams_upload_stage_duration_seconds_count\\{stage="${stage}"\\} 1`), stage);
    }
    // The upload leaves the count after its cleanup, which may finish just after its 201 is sent.
    assert.match(text, /\nams_uploads_in_flight [01]\n/);
    // Derivative metrics (their own registry) are in the same scrape: transform times and cache hits.
    await fetch(`${server.url}/images/${created.id}.webp?width=32`);
    await fetch(`${server.url}/images/${created.id}.webp?width=32`);
    const after = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(after, /ams_derivative_transform_seconds_count\{format="webp"\} [1-9]/);
    // (The second request may still miss: derivatives are stored write-behind.)
    assert.match(after, /\nams_derivative_cache_hits_total \d+\n/);
  });

  test('GETs are open to any origin; uploads only from configured origins', async () => {
    const get = await fetch(`${server.url}/healthz`, { headers: { origin: 'https://any.example.test' } });
    assert.equal(get.headers.get('access-control-allow-origin'), '*');
    assert.match(get.headers.get('access-control-expose-headers') ?? '', /etag/);
    assert.doesNotMatch(get.headers.get('vary') ?? '', /origin/i, 'read responses do not depend on the origin');
    const preflight = (origin: string, method = 'POST', headers = 'authorization,idempotency-key') =>
      fetch(`${server.url}/assets`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
      });
    const allowed = await preflight('https://admin.example.test');
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://admin.example.test');
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /idempotency-key/);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(allowed.headers.get('vary') ?? '', /origin/i);
    const other = await preflight('https://evil.example.test');
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.match((await json(other)).message as string, /AMS_CORS_UPLOAD_ORIGINS/);
    // A read preflight (a page sending a token to list assets) is open to all, with the asked headers.
    const read = await preflight('https://evil.example.test', 'GET', 'authorization');
    assert.equal(read.status, 204);
    assert.equal(read.headers.get('access-control-allow-origin'), '*');
    assert.equal(read.headers.get('access-control-allow-headers'), 'authorization');
    // The actual upload from the allowed origin can read its 201; one from elsewhere cannot.
    const photo = await fixture('photo.jpg');
    const post = async (origin: string) => {
      const form = new FormData();
      form.append('Filename', new Blob([photo]), 'photo.jpg');
      return fetch(`${server.url}/assets`, { method: 'POST', body: form, headers: { origin, authorization: `Bearer ${TOKEN}` } });
    };
    const mine = await post('https://admin.example.test');
    assert.equal(mine.status, 201);
    assert.equal(mine.headers.get('access-control-allow-origin'), 'https://admin.example.test');
    assert.match(mine.headers.get('access-control-expose-headers') ?? '', /location/);
    const theirs = await post('https://evil.example.test');
    assert.equal(theirs.headers.get('access-control-allow-origin'), null);
    // OPTIONS that is not a preflight asks what the path supports (http-methods.test.ts).
    const plain = await fetch(`${server.url}/assets`, { method: 'OPTIONS' });
    assert.equal(plain.status, 204);
    assert.equal(plain.headers.get('allow'), 'GET, HEAD, POST, OPTIONS');
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
  });
});

describe('/metrics behind AMS_METRICS_TOKEN', () => {
  const METRICS_TOKEN = 'scrape-0123456789abcdef';
  let server: TestServer;
  before(async () => {
    server = await startServer({ AMS_METRICS_TOKEN: METRICS_TOKEN });
  });
  after(() => server.close());

  test('only the metrics token opens it; no token, a wrong one or an upload token get 401 saying what to send', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${TOKEN}`, METRICS_TOKEN]) {
      const res = await fetch(`${server.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
      assert.equal(res.status, 401, String(authorization));
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      const body = await json(res);
      assert.equal(body.code, 'UNAUTHORIZED');
      assert.match(body.message, /AMS_METRICS_TOKEN/);
    }
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /ams_http_requests_total\{method="GET",route="\/metrics",status="401"\} 4/);
    // The rest of the service is unchanged: health and reads need no token.
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const doc = await json(await fetch(`${server.url}/openapi.json`));
    assert.deepEqual(doc.paths['/metrics'].get.security, [{ bearer: [] }]);
  });
});
