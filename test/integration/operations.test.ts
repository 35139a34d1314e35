import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { json, startServer, type TestServer } from '../helpers/server.js';

describe('health, readiness, OpenAPI and docs', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('/healthz → 200 and /readyz names each dependency', async () => {
    assert.deepEqual(await json(await fetch(`${server.url}/healthz`)), { status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await json(ready), {
      status: 'ready',
      checks: { database: { ok: true }, storage: { ok: true }, temp: { ok: true } },
    });
  });

  test('/readyz → 503 naming the temp directory when it is gone', async () => {
    const tmp = path.join(server.dataDir, 'tmp');
    await fs.rm(tmp, { recursive: true });
    try {
      const res = await fetch(`${server.url}/readyz`);
      assert.equal(res.status, 503);
      const body = await json(res);
      assert.equal(body.status, 'unavailable');
      assert.equal(body.checks.temp.ok, false);
      assert.equal(body.checks.database.ok, true);
    } finally {
      await fs.mkdir(tmp);
    }
  });

  test('/openapi.json documents every route of the contract with its schemas', async () => {
    const doc = await json(await fetch(`${server.url}/openapi.json`));
    assert.equal(doc.openapi, '3.0.3');
    assert.ok(doc.paths['/assets'].post.responses['201']);
    assert.ok(doc.paths['/assets/{assetId}'].get.responses['200']);
    assert.ok(doc.paths['/images/{file}'].get.responses['303']);
    assert.ok(doc.paths['/videos/{file}'].get);
    assert.deepEqual(doc.paths['/assets'].post.security, [{ bearer: [] }]);
    // Every answer an upload can give (README: Errors), so a generated client handles each one.
    assert.deepEqual(Object.keys(doc.paths['/assets'].post.responses).sort(), ['201', '400', '401', '403', '408', '409', '413', '422', '429', '503', '507']);
    assert.equal(doc.paths['/assets'].post.responses['507'].content['application/json'].schema.$ref, '#/components/schemas/Error');
    const asset = JSON.stringify(doc.components.schemas);
    for (const field of ['md5Checksum', 'mimeType', 'href', 'success']) assert.ok(asset.includes(field), field);
  });

  test('/docs serves a readable API page', async () => {
    const res = await fetch(`${server.url}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await res.text(), /swagger/i);
  });

  test('an unknown route → 404 JSON pointing at /docs; X-Request-Id is honoured and echoed', async () => {
    const res = await fetch(`${server.url}/nope`, { headers: { 'x-request-id': 'trace-abc.123' } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-request-id'), 'trace-abc.123');
    assert.match((await json(res)).message, /\/docs/);
    const generated = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});

describe('/readyz when the database file is unreadable', () => {
  test('a damaged, then a missing SQLite file → 503 naming the database; restored → 200', async () => {
    const server = await startServer();
    const file = path.join(server.dataDir, 'ams.sqlite');
    const saved = await fs.readFile(file);
    try {
      // Root can read any mode, so "unreadable" is made the way volumes really fail: bad or gone.
      await fs.writeFile(file, Buffer.alloc(8192, 0x55));
      let res = await fetch(`${server.url}/readyz`);
      assert.equal(res.status, 503);
      let body = await json(res);
      assert.equal(body.checks.database.ok, false);
      assert.match(body.checks.database.error, /ams\.sqlite cannot be read/);
      assert.equal(body.checks.storage.ok, true);
      await fs.rm(file);
      res = await fetch(`${server.url}/readyz`);
      assert.equal(res.status, 503);
      body = await json(res);
      assert.equal(body.checks.database.ok, false);
    } finally {
      await fs.writeFile(file, saved);
    }
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    await server.close();
  });
});
