import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TOKEN, expected, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

const auth = { authorization: `Bearer ${TOKEN}` };

describe('GET /assets and DELETE /assets/{id}', () => {
  let server: TestServer;
  const ids: Record<string, string> = {};
  before(async () => {
    server = await startServer();
    // Uploaded one after another so createdAt order is the upload order (ties break on id anyway).
    for (const [file, name] of [
      ['photo.jpg', 'Red Shoe.jpg'],
      ['image.png', 'blue_hat.png'],
      ['clip.mp4', 'red shoe walk.mp4'],
      ['image.webp', 'sale 50%.webp'],
      ['photo.jpg', 'red shoe copy.jpg'],
    ] as const) {
      const res = await upload(server, await fixture(file), { filename: name });
      assert.equal(res.status, 201);
      ids[name] = (await json(res)).id;
    }
  });
  after(() => server.close());

  const list = (query: string, headers: Record<string, string> = auth) => fetch(`${server.url}/assets?${query}`, { headers });

  test('needs a token: none or a wrong one → 401 saying what to send', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }] as Array<Record<string, string>>) {
      const res = await list('', headers);
      assert.equal(res.status, 401);
      assert.match((await json(res)).message, /Authorization: Bearer/);
    }
  });

  test('newest first, paged by an opaque cursor until nextCursor is null', async () => {
    const names: string[] = [];
    let query = 'limit=2';
    for (let page = 0; page < 10; page++) {
      const res = await list(query);
      assert.equal(res.status, 200);
      const body = await json(res);
      assert.ok(body.items.length <= 2);
      names.push(...body.items.map((a: { name: string }) => a.name));
      if (body.nextCursor === null) break;
      assert.match(body.nextCursor, /^[A-Za-z0-9_-]+$/);
      query = `limit=2&cursor=${body.nextCursor}`;
    }
    assert.deepEqual(names, ['red shoe copy.jpg', 'sale 50%.webp', 'red shoe walk.mp4', 'blue_hat.png', 'Red Shoe.jpg']);
  });

  test('each item is the published asset object plus kind, createdAt, sizeBytes, durationMs', async () => {
    const body = await json(await list('kind=video'));
    assert.equal(body.items.length, 1);
    const [video] = body.items;
    const clip = expected['clip.mp4']!;
    assert.equal(video.id, ids['red shoe walk.mp4']);
    assert.equal(video.kind, 'video');
    assert.equal(video.durationMs, clip.durationMs);
    assert.equal(video.sizeBytes, (await fixture('clip.mp4')).length);
    assert.equal(video.width, clip.width);
    assert.equal(video.mimeType, clip.mimeType);
    assert.match(video.href, new RegExp(`/videos/${video.id}\\.mp4$`));
    assert.match(video.md5Checksum, /^[0-9a-f]{32}$/);
    assert.ok(Math.abs(Date.parse(video.createdAt) - Date.now()) < 10 * 60_000, video.createdAt);
    assert.deepEqual(await json(await fetch(`${server.url}/assets/${video.id}`)), {
      id: video.id, name: video.name, height: video.height, width: video.width, href: video.href, md5Checksum: video.md5Checksum, mimeType: video.mimeType, durationMs: video.durationMs,
    });
  });

  test('kind and q filter; q is case-insensitive and its wildcards are literal', async () => {
    const names = async (query: string) => (await json(await list(query))).items.map((a: { name: string }) => a.name);
    assert.deepEqual(await names('kind=image&q=RED'), ['red shoe copy.jpg', 'Red Shoe.jpg']);
    assert.deepEqual(await names('q=50%25'), ['sale 50%.webp']);
    assert.deepEqual(await names('q=_'), ['blue_hat.png']);
    assert.deepEqual(await names('q=nothing-like-this'), []);
  });

  test('bad parameters → 400 naming the problem', async () => {
    for (const [query, pattern] of [
      ['limit=0', /limit/],
      ['limit=101', /limit/],
      ['kind=audio', /kind/],
      ['cursor=abc', /cursor/],
      [`cursor=${Buffer.from('1.x').toString('base64url')}`, /cursor/],
    ] as const) {
      const res = await list(query);
      assert.equal(res.status, 400, query);
      assert.match((await json(res)).message, pattern, query);
    }
  });

  test('DELETE needs a token, answers 204, then the id is gone; the shared bytes stay for the other asset', async () => {
    const id = ids['Red Shoe.jpg']!;
    const url = `${server.url}/assets/${id}`;
    assert.equal((await fetch(url, { method: 'DELETE' })).status, 401);
    assert.equal((await fetch(url)).status, 200, 'a refused delete removes nothing');
    const res = await fetch(url, { method: 'DELETE', headers: auth });
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    assert.equal((await fetch(url)).status, 404);
    assert.equal((await fetch(`${server.url}/images/${id}`)).status, 404);
    assert.equal((await fetch(url, { method: 'DELETE', headers: auth })).status, 404);
    assert.ok(!(await json(await list('limit=100'))).items.some((a: { id: string }) => a.id === id));
    // The copy with the same bytes still serves them: DELETE removes the row only (gc collects later).
    const copy = await json(await fetch(`${server.url}/assets/${ids['red shoe copy.jpg']}`));
    const bytes = Buffer.from(await (await fetch(server.local(copy.href))).arrayBuffer());
    assert.deepEqual(bytes, await fixture('photo.jpg'));
  });

  test('an upload of the same bytes racing a delete keeps its file', async () => {
    const bytes = await fixture('image.png');
    const victim = (await json(await upload(server, bytes, { filename: 'victim.png' }))).id;
    const [deleted, uploaded] = await Promise.all([
      fetch(`${server.url}/assets/${victim}`, { method: 'DELETE', headers: auth }),
      upload(server, bytes, { filename: 'racer.png' }),
    ]);
    assert.equal(deleted.status, 204);
    assert.equal(uploaded.status, 201);
    const racer = await json(uploaded);
    assert.deepEqual(Buffer.from(await (await fetch(server.local(racer.href))).arrayBuffer()), bytes);
  });

  test('DELETE of an unknown or malformed id → 404', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-guid']) {
      const res = await fetch(`${server.url}/assets/${id}`, { method: 'DELETE', headers: auth });
      assert.equal(res.status, 404);
      assert.equal((await json(res)).message, 'Asset Media Service Error: Resource not found');
    }
  });

  test('the OpenAPI document has both routes, token-protected', async () => {
    const doc = await json(await fetch(`${server.url}/openapi.json`));
    assert.deepEqual(doc.paths['/assets'].get.security, [{ bearer: [] }]);
    assert.ok(doc.paths['/assets'].get.parameters.some((p: { name: string }) => p.name === 'cursor'));
    assert.deepEqual(doc.paths['/assets/{assetId}'].delete.security, [{ bearer: [] }]);
    assert.ok(doc.paths['/assets/{assetId}'].delete.responses['204']);
  });
});
