/** What a request holds (a stored file open for reading) is let go when its connection dies, however the request was queued. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { json, startServer, upload, type TestServer } from '../helpers/server.js';

/** How many of this process's descriptors are open on a file whose path contains `part`. */
async function openOn(part: string): Promise<number> {
  let n = 0;
  for (const fd of await fs.readdir('/proc/self/fd')) {
    if ((await fs.readlink(`/proc/self/fd/${fd}`).catch(() => '')).includes(part)) n++;
  }
  return n;
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await check()) return true;
  return check();
}

describe('a connection that dies with responses still queued on it', () => {
  let server: TestServer;
  let path: string;
  let sha: string;
  before(async () => {
    server = await startServer();
    // ~3 MB of noise: streamed from disk (past the file cache's limit), and more than the socket
    // buffers hold, so a client that does not read stalls the first answer mid-body.
    const bytes = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#888', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
      .jpeg({ quality: 85 })
      .toBuffer();
    sha = createHash('sha256').update(bytes).digest('hex');
    path = new URL(((await json(await upload(server, bytes, { filename: 'big.jpg' }))) as { href: string }).href).pathname;
  });
  after(() => server.close());

  test('pipelined GETs of a file, never read: one file open at a time, none once the client has gone', async () => {
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    // The first answer stalls mid-body; the next ones wait in Node's queue. Opened there, each
    // file would hold a descriptor and a read buffer for nothing, and Node 20 never closes a
    // queued response when its connection dies (nodejs/node#62534), so they stayed open for good.
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(50));
    assert.ok(await until(async () => (await openOn(sha)) === 1, 5000), `the answer being sent, alone, has the file open (open ${await openOn(sha)} times)`);
    await sleep(300); // the queued requests' handlers have all run by now
    assert.equal(await openOn(sha), 1, 'the queued answers have not opened the file');
    socket.destroy();
    assert.ok(await until(async () => (await openOn(sha)) === 0, 5000), `still open ${await openOn(sha)} times after the client left`);
  });
});
