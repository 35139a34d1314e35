import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signPath } from '../../src/derivatives/signing.js';
import { TOKEN, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

const KEY = 'openapi-test-signing-key-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
/** Routes that are pages for people, not API: the docs viewer, the console, and the CORS catch-all. */
const UNDOCUMENTED = (route: string) => route === '*' || /^\/(docs|console)(\/|$)/.test(route);
/** `/videos/:file|:id/poster.:ext` and `/videos/{id}/poster.{ext}` alike → `/videos/{}/poster.{}`. */
const shape = (route: string) => route.replace(/:\w+(\|:\w+)*/g, '{}').replace(/\{\w+\}/g, '{}');
const toOpenApi = (route: string) => route.replace(/:(\w+)/g, '{$1}');

/** Every [method, route] Fastify's router serves, from its printed tree (one line per node). */
function routesOf(server: TestServer): Array<[string, string]> {
  const routes: Array<[string, string]> = [];
  const prefixes: string[] = [];
  for (const line of server.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    prefixes.length = depth;
    const route = prefixes.join('') + m[2]!;
    prefixes.push(m[2]!);
    for (const method of m[3]?.split(', ') ?? []) routes.push([method, route]);
  }
  return routes;
}

/** `ams_http_requests_total` of a scrape: every [method, route pattern, status] answered so far. */
function answered(metrics: string): Array<[string, string, string]> {
  const series = [...metrics.matchAll(/^ams_http_requests_total\{method="(\w+)",route="([^"]+)",status="(\d+)"\}/gm)];
  return series.map((m) => [m[1]!, m[2]!, m[3]!]);
}

describe('the OpenAPI document against what the service answers', () => {
  let server: TestServer;
  let doc: any;
  before(async () => {
    server = await startServer({ AMS_SIGNING_KEYS: KEY, AMS_UPLOAD_RATE_PER_TOKEN: '5', AMS_RATE_WINDOW_S: '3600', AMS_MAX_UPLOAD_BYTES: '100000' });
    doc = await json(await fetch(`${server.url}/openapi.json`));
  });
  after(() => server.close());

  test('every API route is in the document, /metrics and the health routes included', () => {
    const routes = routesOf(server).filter(([method, route]) => method !== 'HEAD' && !UNDOCUMENTED(route));
    assert.ok(routes.length >= 10, `the route tree was read: ${JSON.stringify(routes)}`);
    const documented = new Map(Object.entries<Record<string, unknown>>(doc.paths).map(([p, item]) => [shape(p), item]));
    for (const [method, route] of routes) {
      assert.ok(documented.get(shape(route))?.[method.toLowerCase()], `${method} ${route} is not in /openapi.json`);
    }
    for (const p of ['/metrics', '/healthz', '/readyz', '/openapi.json']) assert.ok(doc.paths[p]?.get, p);
  });

  test('every status a route answered here is documented on its operation; 405 is documented for all', async () => {
    const photo = await fixture('photo.jpg');
    const image = (await json(await upload(server, photo, { filename: 'p.jpg' }))).id as string;
    const video = (await json(await upload(server, await fixture('clip.mp4'), { filename: 'c.mp4' }))).id as string;
    const get = async (url: string, headers: Record<string, string> = {}, method = 'GET') => {
      const res = await fetch(url.startsWith('http') ? server.local(url) : `${server.url}${url}`, { method, headers, redirect: 'manual' });
      await res.arrayBuffer();
      return res;
    };
    const signed = (p: string, query: string) => `${p}?${query}&sig=${signPath(KEY, `${p}?${query}`)}`;
    const expect = async (status: number, res: Promise<Response> | Response) => assert.equal((await res).status, status);

    // Uploads: 201, 400, 401, 413, then 429 once the token's 6 uploads are spent (every one counts).
    await expect(400, upload(server, await fixture('script.svg'), { filename: 's.svg' }));
    await expect(401, upload(server, photo, { token: null }));
    await expect(413, upload(server, Buffer.alloc(200_000, 1)));
    const doomed = (await json(await upload(server, photo))).id as string;
    await expect(429, upload(server, photo));
    // Metadata, browsing, deleting.
    await expect(200, get(`/assets/${image}`));
    await expect(404, get('/assets/00000000-0000-4000-8000-000000000000'));
    await expect(200, get('/assets?limit=2', auth));
    await expect(400, get('/assets?limit=abc', auth));
    await expect(401, get('/assets'));
    await expect(401, get(`/assets/${doomed}`, {}, 'DELETE'));
    await expect(204, get(`/assets/${doomed}`, auth, 'DELETE'));
    await expect(404, get(`/assets/${doomed}`, auth, 'DELETE'));
    // Files: redirect, bytes, ranges, conditionals, wrong type, signatures.
    const file = (await get(`/images/${image}`)).headers.get('location')!;
    await expect(200, get(file));
    await expect(200, get(file, {}, 'HEAD'));
    await expect(206, get(file, { range: 'bytes=0-9' }));
    await expect(416, get(file, { range: 'bytes=999999-' }));
    await expect(304, get(file, { 'if-none-match': (await get(file)).headers.get('etag')! }));
    await expect(412, get(file, { 'if-match': '"nope"' }));
    await expect(404, get(`/images/${image}.png`));
    await expect(400, get(`/images/${video}`));
    await expect(403, get(`/images/${image}.webp?width=10`));
    const derivative = (await get(signed(`/images/${image}`, 'width=10&format=webp'))).headers.get('location')!;
    await expect(200, get(derivative));
    await expect(303, get(`/videos/${video}`));
    await expect(200, get(`/videos/${video}.mp4`));
    // Posters.
    await expect(403, get(`/videos/${video}/poster?width=10`));
    await expect(400, get(signed(`/videos/${image}/poster`, 'width=10')));
    const poster = (await get(signed(`/videos/${video}/poster`, 'width=10'))).headers.get('location')!;
    await expect(200, get(poster));
    // Operations: /readyz 503 while the temp directory is gone.
    await expect(200, get('/healthz'));
    await expect(200, get('/metrics'));
    await expect(200, get('/readyz'));
    const tmp = path.join(server.dataDir, 'tmp');
    await fs.rm(tmp, { recursive: true });
    await expect(503, get('/readyz')).finally(() => fs.mkdir(tmp));
    // Wrong methods: answered by no operation, documented once for the whole API.
    await expect(405, get(`/images/${image}.jpg`, {}, 'DELETE'));
    await expect(405, get(`/assets/${image}`, auth, 'PUT'));

    const seen = answered(await (await fetch(`${server.url}/metrics`)).text());
    const checked = new Set<string>();
    for (const [method, route, status] of seen) {
      if (route === 'unmatched' || UNDOCUMENTED(route)) continue;
      const item = doc.paths[toOpenApi(route)];
      assert.ok(item, `${route} is not documented`);
      // A HEAD Fastify derives from a GET is documented by the GET.
      const operation = item[method.toLowerCase()] ?? (method === 'HEAD' ? item.get : undefined);
      assert.ok(operation, `${method} ${route} is not documented`);
      assert.ok(operation.responses[status], `${method} ${route} answered ${status}, which its operation does not list`);
      checked.add(`${method} ${route} ${status}`);
    }
    // The sample really covered the statuses this test is about.
    for (const must of ['POST /assets 429', 'POST /assets 413', 'GET /readyz 503', 'GET /images/:file 403', 'GET /videos/:id/poster 403', 'GET /metrics 200', 'DELETE /assets/:assetId 204']) {
      assert.ok(checked.has(must), `not exercised: ${must}`);
    }
    assert.ok(checked.size >= 30, `${checked.size} answers checked`);
    assert.ok(seen.some(([, route, status]) => route === 'unmatched' && status === '405'));
    assert.equal(doc.components.responses.MethodNotAllowed.content['application/json'].schema.$ref, '#/components/schemas/Error');
    assert.ok(doc.components.responses.MethodNotAllowed.headers.Allow);
    assert.match(doc.info.description, /\*\*405\*\* `METHOD_NOT_ALLOWED` with an `Allow` header/);
  });

  test('routes that reach the database or storage document 503; only uploads document 429 and 507', () => {
    for (const [p, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        const statuses = Object.keys(operation.responses);
        const backed = /^\/(assets|images|videos)/.test(p) || p === '/readyz';
        assert.equal(statuses.includes('503'), backed, `${method.toUpperCase()} ${p}: ${statuses}`);
        const upload = method === 'post' && p === '/assets';
        assert.equal(statuses.includes('429'), upload, `${method.toUpperCase()} ${p} 429`);
        assert.equal(statuses.includes('507'), upload, `${method.toUpperCase()} ${p} 507`);
      }
    }
  });
});
