import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { fixture, TOKEN } from '../helpers/server.js';
import { filesUnder, rawUpload, rows, spawnServer, type ServerProcess } from './harness.js';

/** Generous, but finite: a hostile request must be answered or cut off within this. */
const ANSWER_BOUND_MS = 10_000;
/** AMS_REQUEST_TIMEOUT_MS is 3 s here; a trickled body must be cut well within this. */
const TRICKLE_BOUND_MS = 15_000;

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-hostile-'));

/** Cuts a fixture or flips bytes in it: the damaged files a real client can send. */
async function corpus(): Promise<Array<[string, string, Buffer]>> {
  const png = await fixture('image.png');
  const jpg = await fixture('photo.jpg');
  const brokenMarker = Buffer.from(jpg);
  brokenMarker[2] = 0x00; // SOI must be followed by a marker (0xFF..)
  const badLength = Buffer.from(jpg);
  badLength.writeUInt16BE(0xfff0, 4); // first segment claims to run past the end
  return [
    ['truncated PNG', 'cut.png', png.subarray(0, Math.floor(png.length / 2))],
    ['PNG with a bad CRC', 'crc.png', await fixture('bad-crc.png')],
    ['PNG declaring 100000x100000', 'bomb.png', await fixture('bomb.png')],
    ['truncated JPEG', 'cut.jpg', await fixture('truncated.jpg')],
    ['JPEG with a broken marker', 'marker.jpg', brokenMarker],
    ['JPEG with a segment past the end', 'length.jpg', badLength],
    ['ZIP named .jpg', 'zip.jpg', await fixture('not-image.zip')],
    ['PDF named .png', 'doc.png', await fixture('doc.pdf')],
    ['ELF named .jpg', 'elf.jpg', await fixture('prog.elf')],
    ['HTML named .gif', 'page.gif', await fixture('page.html')],
    ['SVG with script', 'logo.svg', await fixture('script.svg')],
    ['truncated MP4', 'cut.mp4', await fixture('truncated.mp4')],
  ];
}

/** Opens a raw connection, sends `head`, then runs `feed`; resolves with what came back and when the socket closed. */
async function rawExchange(url: string, head: string, feed: (s: net.Socket) => Promise<void>, boundMs: number) {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  let reply = '';
  socket.on('data', (d: Buffer) => (reply += d.toString()));
  const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')));
  socket.write(Buffer.from(head, 'latin1'));
  void feed(socket).catch(() => {});
  const outcome = await Promise.race([closed, sleep(boundMs, undefined, { ref: false }).then(() => 'still open' as const)]);
  socket.destroy();
  return { outcome, reply };
}

describe('a hostile corpus against one server', () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer(dataDir, { AMS_REQUEST_TIMEOUT_MS: '3000', AMS_IDLE_TIMEOUT_MS: '2000' });
  });
  after(async () => {
    await server?.kill();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  test('damaged and disguised files → 400 each, within the bound', { timeout: 60_000 }, async () => {
    for (const [what, name, bytes] of await corpus()) {
      const res = await Promise.race([rawUpload(server.url, bytes, name), sleep(ANSWER_BOUND_MS, undefined, { ref: false }).then(() => null)]);
      assert.ok(res !== null, `${what}: answered within ${ANSWER_BOUND_MS} ms`);
      assert.equal(res.status, 400, `${what}: ${res.body}`);
      assert.ok(JSON.parse(res.body).message.length > 20, `${what}: the message says what to do`);
    }
  });

  test('malformed and truncated multipart bodies → 400', { timeout: 60_000 }, async () => {
    const auth = `Authorization: Bearer ${TOKEN}\r\n`;
    const bodies: Array<[string, string, string]> = [
      ['boundary never appears', 'multipart/form-data; boundary=xyz', 'this is not multipart at all'],
      ['no boundary parameter', 'multipart/form-data', '--x\r\n\r\nhello\r\n--x--\r\n'],
      ['part without headers end', 'multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="Filename"; filename="a.jpg"\r\n'],
      ['closing boundary missing', 'multipart/form-data; boundary=b', `--b\r\nContent-Disposition: form-data; name="Filename"; filename="a.jpg"\r\n\r\n\xff\xd8\xff\xe0garbage`],
    ];
    for (const [what, type, body] of bodies) {
      const head = `POST /assets HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\nConnection: close\r\n\r\n`;
      const { outcome, reply } = await rawExchange(server.url, head, async (s) => void s.write(Buffer.from(body, 'latin1')), ANSWER_BOUND_MS);
      assert.equal(outcome, 'closed', `${what}: answered and closed within the bound`);
      assert.match(reply, /^HTTP\/1\.1 400 /, `${what}: ${reply.slice(0, 300)}`);
    }
  });

  test('a slow-loris body (a byte a second) and a body that never ends are cut off', { timeout: 120_000 }, async () => {
    const head = (extra: string) =>
      `POST /assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: multipart/form-data; boundary=b\r\n${extra}\r\n` +
      `--b\r\nContent-Disposition: form-data; name="Filename"; filename="a.jpg"\r\n\r\n\xff\xd8`;
    const trickle = async (s: net.Socket, every: number, bytes: number) => {
      for (let i = 0; i < TRICKLE_BOUND_MS / every && !s.destroyed; i++) {
        s.write(Buffer.alloc(bytes, 0x41));
        await sleep(every);
      }
    };
    const [loris, endless] = await Promise.all([
      rawExchange(server.url, head('Content-Length: 1000000\r\n'), (s) => trickle(s, 1000, 1), TRICKLE_BOUND_MS),
      rawExchange(server.url, head('Transfer-Encoding: chunked\r\n').replace(/\r\n\r\n(--b[\s\S]*)$/, (_m, b: string) => `\r\n\r\n${(b.length).toString(16)}\r\n${b}\r\n`), (s) => chunkedForever(s), TRICKLE_BOUND_MS),
    ]);
    for (const [what, r] of [['slow-loris', loris], ['endless', endless]] as const) {
      assert.equal(r.outcome, 'closed', `the ${what} connection is closed by the request timeout`);
      assert.match(r.reply, /^HTTP\/1\.1 408 [\s\S]*not received within 3000 ms/, `${what}: ${r.reply.slice(0, 300)}`);
    }
  });

  test('afterwards: healthy, and nothing left behind', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    assert.equal(rows(dataDir).length, 0, 'no row');
    // Cleanup of a cut connection runs when the server notices it: poll, bounded.
    for (let i = 0; i < 50 && (await filesUnder(path.join(dataDir, 'tmp'))).length > 0; i++) await sleep(100);
    assert.deepEqual(await filesUnder(path.join(dataDir, 'tmp')), [], 'no temp file');
    assert.deepEqual(await filesUnder(path.join(dataDir, 'blobs')), [], 'no blob');
  });
});

/** Chunked transfer: a 4 KiB chunk every 50 ms, never the terminating chunk. */
async function chunkedForever(s: net.Socket): Promise<void> {
  const chunk = Buffer.concat([Buffer.from('1000\r\n'), Buffer.alloc(4096, 0x42), Buffer.from('\r\n')]);
  for (let i = 0; i < TRICKLE_BOUND_MS / 50 && !s.destroyed; i++) {
    s.write(chunk);
    await sleep(50);
  }
}
