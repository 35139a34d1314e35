import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { TOKEN, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

function rowCount(server: TestServer): number {
  const db = new Database(path.join(server.dataDir, 'ams.sqlite'), { readonly: true });
  try {
    return (db.prepare('select count(*) as n from assets').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Polls (bounded) until `check` holds: cleanup after an abort happens when the server notices it. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

describe('concurrency and aborted uploads', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('32 concurrent uploads of distinct images: all stored, all served back byte-identical', async () => {
    const images = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        sharp({ create: { width: 40 + i, height: 30, channels: 3, background: { r: i * 7, g: 255 - i * 5, b: 90 } } })
          .png()
          .toBuffer(),
      ),
    );
    const bodies = await Promise.all(
      images.map(async (bytes, i) => {
        const res = await upload(server, bytes, { filename: `img-${i}.png` });
        assert.equal(res.status, 201);
        return json(res);
      }),
    );
    assert.equal(new Set(bodies.map((b) => b.id)).size, 32);
    await Promise.all(
      bodies.map(async (body, i) => {
        const bytes = images[i] as Buffer;
        assert.equal(body.width, 40 + i);
        assert.equal(body.md5Checksum, createHash('md5').update(bytes).digest('hex'));
        const served = Buffer.from(await (await fetch(server.local(body.href))).arrayBuffer());
        assert.ok(served.equals(bytes), `asset ${i} served back identical`);
      }),
    );
  });

  test('an upload aborted mid-body leaves no row and no file', async () => {
    const rowsBefore = rowCount(server);
    const filesBefore = (await server.storedFiles()).length;
    const tempFiles = async () => (await server.storedFiles()).filter((f) => f.startsWith(path.join(server.dataDir, 'tmp')));
    const jpg = await fixture('photo.jpg');
    const boundary = 'abortboundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="Filename"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    );
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + jpg.length + 100}\r\n\r\n`,
    );
    socket.write(head);
    socket.write(jpg.subarray(0, jpg.length / 2));
    // Let the server start writing the temp file before the client vanishes.
    await eventually(async () => (await server.storedFiles()).length > filesBefore, 'the temp file appears');
    socket.destroy();
    await eventually(async () => (await tempFiles()).length === 0, 'the temp file is removed');
    assert.equal((await server.storedFiles()).length, filesBefore, 'no blob was stored');
    assert.equal(rowCount(server), rowsBefore);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
  });

  test('a client that stops sending mid-body is cut off by the idle timeout, leaving nothing', async (t) => {
    // Its own server: a 1 s idle timeout would also cut the slow responses of a loaded machine.
    const server = await startServer({ AMS_IDLE_TIMEOUT_MS: '1000' });
    t.after(() => server.close());
    const filesBefore = (await server.storedFiles()).length;
    const boundary = 'stallboundary';
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    socket.write(
      `POST /assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 100000\r\n\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="Filename"; filename="a.jpg"\r\n\r\n\xff\xd8\xff`,
    );
    const outcome = await Promise.race([closed.then(() => 'closed'), sleep(8000).then(() => 'still open')]);
    socket.destroy();
    assert.equal(outcome, 'closed', 'the server closes a stalled upload (AMS_IDLE_TIMEOUT_MS=1000)');
    await eventually(async () => (await server.storedFiles()).length === filesBefore, 'the temp file is removed');
  });
});
