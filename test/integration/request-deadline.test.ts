import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { TOKEN, startServer, type TestServer } from '../helpers/server.js';

/** Bound for the server to answer once the 1 s deadline has passed (generous for a loaded CI box). */
const BOUND_MS = 8000;

/** Sends `prefix`, then trickles one byte every 200 ms (never idle long enough for the idle timeout). */
async function trickle(server: TestServer, prefix: string) {
  const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  let reply = '';
  socket.on('data', (d: Buffer) => (reply += d.toString()));
  const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')));
  socket.write(prefix);
  const feeding = (async () => {
    for (let i = 0; i < BOUND_MS / 200 && !socket.destroyed; i++) {
      socket.write('A');
      await sleep(200);
    }
  })();
  const outcome = await Promise.race([closed, sleep(BOUND_MS, undefined, { ref: false }).then(() => 'still open' as const)]);
  socket.destroy();
  await feeding;
  return { outcome, reply };
}

const uploadHead =
  `POST /assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
  'Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n' +
  '--b\r\nContent-Disposition: form-data; name="Filename"; filename="a.jpg"\r\n\r\n';

describe('AMS_REQUEST_TIMEOUT_MS cuts off a body that trickles in', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ AMS_REQUEST_TIMEOUT_MS: '1000', AMS_IDLE_TIMEOUT_MS: '5000' });
  });
  after(() => server.close());

  test('a slow-loris body → 408 naming the limit, connection closed, nothing left behind', async () => {
    const { outcome, reply } = await trickle(server, uploadHead);
    assert.equal(outcome, 'closed');
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.match(reply, /"code":"REQUEST_TIMEOUT".*not received within 1000 ms/);
    for (let i = 0; i < 50 && (await server.storedFiles()).length > 0; i++) await sleep(100);
    assert.deepEqual(await server.storedFiles(), []);
  });

  test('on a keep-alive connection that already answered a request, the 408 is still sent', async () => {
    const { outcome, reply } = await trickle(server, `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${uploadHead}`);
    assert.equal(outcome, 'closed');
    assert.match(reply, /^HTTP\/1\.1 200 [\s\S]*HTTP\/1\.1 408 /);
  });

  test('the server stays healthy afterwards', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});
