import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { TOKEN, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

const auth = { authorization: `Bearer ${TOKEN}` };
const ADMIN = 'https://admin.example.test';

function assertCatalogueShape(body: Record<string, unknown>, status: number, code: string) {
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode']);
  assert.equal(body.statusCode, status);
  assert.equal(body.code, code);
}

/** Wrong methods on known paths (405 + Allow), unknown paths (404), and OPTIONS. */
describe('HTTP methods', () => {
  let server: TestServer;
  let image: string;
  let video: string;
  before(async () => {
    server = await startServer({ AMS_CORS_UPLOAD_ORIGINS: ADMIN });
    image = (await json(await upload(server, await fixture('photo.jpg'), { filename: 'p.jpg' }))).id;
    video = (await json(await upload(server, await fixture('clip.mp4'), { filename: 'c.mp4' }))).id;
  });
  after(() => server.close());

  const unknownId = randomUUID();
  // [path, the exact Allow header]
  const knownPaths = (): Array<[string, string]> => [
    [`/images/${image}`, 'GET, HEAD, OPTIONS'],
    [`/images/${image}.jpg`, 'GET, HEAD, OPTIONS'],
    [`/images/${image}.webp?width=10`, 'GET, HEAD, OPTIONS'],
    [`/videos/${video}`, 'GET, HEAD, OPTIONS'],
    [`/videos/${video}.mp4`, 'GET, HEAD, OPTIONS'],
    [`/videos/${video}/poster`, 'GET, HEAD, OPTIONS'],
    [`/videos/${video}/poster.jpg`, 'GET, HEAD, OPTIONS'],
    // The path is known whatever the id: the method is wrong before any asset is looked up.
    [`/images/${unknownId}.png`, 'GET, HEAD, OPTIONS'],
    [`/assets/${image}`, 'GET, HEAD, DELETE, OPTIONS'],
    ['/assets', 'GET, HEAD, POST, OPTIONS'],
    ['/healthz', 'GET, HEAD, OPTIONS'],
    ['/metrics', 'GET, HEAD, OPTIONS'],
  ];

  test('a method a known path does not serve → 405 with Allow, in the catalogue shape, naming the methods to use', async () => {
    for (const [path, allow] of knownPaths()) {
      const served = allow.split(', ');
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !served.includes(m))) {
        const res = await fetch(`${server.url}${path}`, { method, headers: auth });
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
        assert.ok(res.headers.get('x-request-id'));
        const body = await json(res);
        assertCatalogueShape(body, 405, 'METHOD_NOT_ALLOWED');
        assert.equal(body.error, 'Method Not Allowed');
        const methods = served.filter((m) => m !== 'OPTIONS');
        const use = `${methods.slice(0, -1).join(', ')} or ${methods.at(-1)}`;
        assert.equal(body.message, `${method} is not allowed on ${path.split('?')[0]}; use ${use}`);
      }
    }
  });

  test('every method Allow names is really served there (none of them answers 405)', async () => {
    for (const [path, allow] of knownPaths()) {
      for (const method of allow.split(', ').filter((m) => m !== 'POST' && m !== 'DELETE')) {
        const res = await fetch(`${server.url}${path}`, { method, redirect: 'manual' });
        await res.arrayBuffer();
        assert.notEqual(res.status, 405, `${method} ${path}`);
        if (!path.includes(unknownId)) assert.notEqual(res.status, 404, `${method} ${path}`);
      }
    }
    const created = await json(await upload(server, await fixture('photo.jpg'), { filename: 'gone.jpg' }));
    assert.equal((await fetch(`${server.url}/assets/${created.id}`, { method: 'DELETE', headers: auth })).status, 204);
  });

  test('methods outside the usual five are 405 too on a known path; 404 on an unknown one', async () => {
    const res = await fetch(`${server.url}/assets/${image}`, { method: 'PROPFIND' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD, DELETE, OPTIONS');
    assert.equal((await fetch(`${server.url}/nope`, { method: 'PROPFIND' })).status, 404);
  });

  test('an unknown path stays 404 ROUTE_NOT_FOUND with any method; an unknown id keeps the published 404', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const path of ['/nope', '/images', `/images/${image}/extra`, `/assets/${image}/variants`]) {
        const res = await fetch(`${server.url}${path}`, { method });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(res.headers.get('allow'), null);
        const body = await json(res);
        assertCatalogueShape(body, 404, 'ROUTE_NOT_FOUND');
        assert.match(body.message, /see \/docs/);
      }
    }
    for (const path of [`/assets/${randomUUID()}`, `/images/${randomUUID()}`, `/videos/${randomUUID()}.mp4`]) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 404, path);
      const body = await json(res);
      assertCatalogueShape(body, 404, 'NOT_FOUND');
      assert.equal(body.message, 'Asset Media Service Error: Resource not found');
    }
  });

  test('a 405 does not read the body it refuses, and the asset is untouched', async () => {
    const res = await fetch(`${server.url}/assets/${image}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: `"${'a'.repeat(2 * 1024 * 1024)}"`,
    });
    assert.equal(res.status, 405);
    assertCatalogueShape(await json(res), 405, 'METHOD_NOT_ALLOWED');
    assert.equal((await fetch(`${server.url}/assets/${image}`)).status, 200);
  });

  test('a plain OPTIONS → 204 with Allow on a known path, 404 elsewhere', async () => {
    for (const [path, allow] of knownPaths()) {
      const res = await fetch(`${server.url}${path}`, { method: 'OPTIONS' });
      assert.equal(res.status, 204, path);
      assert.equal(res.headers.get('allow'), allow, path);
    }
    const res = await fetch(`${server.url}/nope`, { method: 'OPTIONS' });
    assert.equal(res.status, 404);
    assertCatalogueShape(await json(res), 404, 'ROUTE_NOT_FOUND');
  });

  test('CORS preflights are still answered by the CORS policy, not by Allow', async () => {
    const preflight = (path: string, origin: string, method: string) =>
      fetch(`${server.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method } });
    const read = await preflight(`/images/${image}.jpg`, 'https://shop.example.test', 'GET');
    assert.equal(read.status, 204);
    assert.equal(read.headers.get('access-control-allow-origin'), '*');
    assert.equal(read.headers.get('access-control-allow-methods'), 'GET, HEAD');
    const write = await preflight(`/assets/${image}`, ADMIN, 'DELETE');
    assert.equal(write.status, 204);
    assert.equal(write.headers.get('access-control-allow-origin'), ADMIN);
    assert.match(write.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    const refused = await preflight(`/assets/${image}`, 'https://evil.example.test', 'DELETE');
    assert.equal(refused.status, 403);
    assertCatalogueShape(await json(refused), 403, 'CORS_ORIGIN_NOT_ALLOWED');
    // A 405 to a browser's read-origin request still carries the read CORS headers, so the page can show it.
    const wrong = await fetch(`${server.url}/images/${image}.jpg`, { method: 'PUT', headers: { origin: ADMIN } });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('access-control-allow-origin'), ADMIN);
  });
});
