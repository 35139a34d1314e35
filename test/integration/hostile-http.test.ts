import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TOKEN, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

/** Sends raw bytes and returns everything the server writes back before it closes (or `ms` passes). */
async function rawExchange(server: TestServer, bytes: string | Buffer, ms = 3000): Promise<string> {
  const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
  socket.on('error', () => {});
  let reply = '';
  socket.on('data', (d: Buffer) => (reply += d.toString()));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(bytes);
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
});
