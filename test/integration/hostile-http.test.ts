import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TOKEN, fixture, json, multipartBody, startServer, upload, type TestServer } from '../helpers/server.js';

/** Sends raw bytes and returns everything the server writes back before it closes (or `ms` passes). */
async function rawExchange(server: TestServer, bytes: string | Buffer, ms = 3000, halfClose = false): Promise<string> {
  const socket = net.connect({ port: Number(new URL(server.url).port), host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  let reply = '';
  socket.on('data', (d: Buffer) => (reply += d.toString()));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // Half-closing (shutdown(SHUT_WR), `nc -N`) says "that was my whole request", not "hang up".
  if (halfClose) socket.end(bytes);
  else socket.write(bytes);
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
  socket.destroy();
  return reply;
}

/** The JSON body of a raw HTTP response (the text after the blank line). */
function bodyOf(reply: string): Record<string, unknown> {
  const at = reply.indexOf('\r\n\r\n');
  assert.notEqual(at, -1, `no complete response in ${JSON.stringify(reply)}`);
  return JSON.parse(reply.slice(at + 4)) as Record<string, unknown>;
}

function assertCatalogueShape(body: Record<string, unknown>, status: number, code: string) {
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode']);
  assert.equal(body.statusCode, status);
  assert.equal(body.code, code);
}

const auth = { authorization: `Bearer ${TOKEN}` };

/** What a hostile but realistic client sends; every answer in the catalogue's shape. */
describe('hostile HTTP clients', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('an id longer than the router allows → 404 NOT_FOUND, like any non-GUID', async () => {
    const long = 'a'.repeat(150);
    for (const path of [`/assets/${long}`, `/images/${long}`, `/images/${long}.jpg?width=10`, `/videos/${long}`]) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.ok(res.headers.get('x-request-id'), 'the request id is echoed on every answer');
      const body = await json(res);
      assertCatalogueShape(body, 404, 'NOT_FOUND');
      assert.equal(body.message, 'Asset Media Service Error: Resource not found');
    }
  });

  test('an id with broken percent-encoding → 404 NOT_FOUND', async () => {
    for (const path of ['/assets/%E0%A4%A', '/images/%ZZ.jpg', '/videos/%']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 404, path);
      assertCatalogueShape(await json(res), 404, 'NOT_FOUND');
    }
  });

  test('a body that is not multipart is NO_FILE whatever its type or size, not a JSON error or a 413', async () => {
    for (const [type, body] of [
      ['application/json', '{"a":'],
      ['application/json', ''],
      ['application/json', `"${'a'.repeat(2 * 1024 * 1024)}"`],
      ['text/plain', 'x'.repeat(2 * 1024 * 1024)],
    ] as const) {
      const res = await fetch(`${server.url}/assets`, { method: 'POST', headers: { ...auth, 'content-type': type }, body });
      assert.equal(res.status, 400, `${type}, ${body.length} bytes`);
      const error = await json(res);
      assertCatalogueShape(error, 400, 'NO_FILE');
      assert.equal(error.message, 'Ensure file was attached to request');
    }
    assert.deepEqual(await server.storedFiles(), []);
  });

  test('DELETE from a client that labels every request application/json → 204, its body ignored', async () => {
    for (const body of [undefined, '', '{', 'x'.repeat(2 * 1024 * 1024)]) {
      const created = await json(await upload(server, await fixture('photo.jpg'), { filename: 'a.jpg' }));
      const res = await fetch(`${server.url}/assets/${created.id}`, {
        method: 'DELETE',
        headers: { ...auth, 'content-type': 'application/json' },
        body,
      });
      assert.equal(res.status, 204, `body of ${body?.length ?? 'no'} bytes: ${await res.text()}`);
      assert.equal((await fetch(`${server.url}/assets/${created.id}`)).status, 404);
    }
  });

  const post = (headers: string, body = '') => `POST /assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n${headers}\r\n${body}`;

  test('malformed HTTP → 400 BAD_HTTP_REQUEST in the catalogue shape, naming the fault, then the connection closes', async () => {
    for (const [what, bytes, fault] of [
      ['Content-Length and chunked together', post('Content-Type: text/plain\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), /Content-Length/i],
      ['a Content-Length that is not a number', post('Content-Length: abc\r\n'), /Content-Length/i],
      ['a header line without a colon', post('this is not a header\r\n'), /header/i],
      ['a request line that is not HTTP', 'HELLO WORLD\r\n\r\n', /method|HTTP/i],
    ] as const) {
      const reply = await rawExchange(server, bytes);
      assert.match(reply, /^HTTP\/1\.1 400 /, what);
      assert.match(reply, /\r\nconnection: close\r\n/i, what);
      const body = bodyOf(reply);
      assertCatalogueShape(body, 400, 'BAD_HTTP_REQUEST');
      assert.match(String(body.message), fault, what);
      assert.match(String(body.message), /send a well-formed HTTP\/1\.1 request/, what);
    }
  });

  test('headers over the size limit → 431 HEADERS_TOO_LARGE naming the limit', async () => {
    const reply = await rawExchange(server, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 431 /);
    const body = bodyOf(reply);
    assertCatalogueShape(body, 431, 'HEADERS_TOO_LARGE');
    assert.match(String(body.message), /16384 bytes.*send shorter headers/);
  });

  test('an Expect other than 100-continue → 417 EXPECTATION_FAILED saying to drop it; nothing stored', async () => {
    const reply = await rawExchange(server, post('Expect: 201-created\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n', 'abc'));
    assert.match(reply, /^HTTP\/1\.1 417 /);
    const body = bodyOf(reply);
    assertCatalogueShape(body, 417, 'EXPECTATION_FAILED');
    assert.match(String(body.message), /Expect: 100-continue.*without/);
  });

  test('a client that half-closes after sending its upload still gets the 201', async () => {
    const photo = await fixture('photo.jpg');
    const { body, contentType } = multipartBody([{ field: 'Filename', filename: 'half.jpg', contentType: 'image/jpeg', data: photo }]);
    const head = `POST /assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const reply = await rawExchange(server, Buffer.concat([Buffer.from(head), body]), 5000, true);
    assert.match(reply, /^HTTP\/1\.1 201 /, reply.slice(0, 200));
    const created = bodyOf(reply);
    assert.equal(created.success, true);
    assert.equal((await fetch(`${server.url}/assets/${String(created.id)}`)).status, 200);
  });

  test('the server is still healthy after the garbage', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    // Deleted assets' blobs stay for `ams gc`; nothing may be left half-received.
    for (const dir of ['tmp', 'blobs/.staging']) assert.deepEqual(await fs.readdir(path.join(server.dataDir, dir)), [], dir);
  });

  test('a query parameter out of range, or given twice, → 400 INVALID_PARAMETER saying what to send', async () => {
    const created = await json(await upload(server, await fixture('photo.jpg'), { filename: 'q.jpg' }));
    for (const [path, withAuth, fault] of [
      ['/assets?limit=abc', true, /^Invalid limit="abc": .*whole number from 1 to 100/],
      ['/assets?limit=5&limit=6', true, /^Invalid limit: given 2 times; give it once/],
      ['/assets?kind=audio', true, /^Invalid kind="audio": .*image or video/],
      ['/assets?q=a&q=b', true, /^Invalid q: given 2 times; give it once/],
      [`/images/${created.id}?width=100&width=200`, false, /^Invalid width: given 2 times; give it once/],
      [`/images/${created.id}.jpg?quality=50&quality=60`, false, /^Invalid quality: given 2 times; give it once/],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, { headers: withAuth ? auth : {} });
      assert.equal(res.status, 400, path);
      const body = await json(res);
      assertCatalogueShape(body, 400, 'INVALID_PARAMETER');
      assert.match(body.message, fault, path);
    }
    // A huge value is quoted, not echoed whole.
    const huge = await fetch(`${server.url}/images/${created.id}?width=${'9'.repeat(5000)}`);
    const hugeBody = await json(huge);
    assertCatalogueShape(hugeBody, 400, 'INVALID_PARAMETER');
    assert.ok(hugeBody.message.length < 300, hugeBody.message);
    assert.match(hugeBody.message, /^Invalid width="9{100}…"; use a whole number from 1 to \d+/);
    // A cursor too long to be one this server handed out is just that: BAD_CURSOR, as the README says.
    const res = await fetch(`${server.url}/assets?cursor=${'x'.repeat(300)}`, { headers: auth });
    assertCatalogueShape(await json(res), 400, 'BAD_CURSOR');
  });
});
