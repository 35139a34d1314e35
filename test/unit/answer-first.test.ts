import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { answerFirst } from '../../src/http/hot-reads.js';

/** A real server whose own listener answers 200 "routes"; `answer` runs first (hot-reads.ts). */
async function serve(answer: Parameters<typeof answerFirst>[1]) {
  const errors: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
  const server = http.createServer((_req, res) => res.end('routes'));
  answerFirst(server, answer, log);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, errors, close: () => new Promise((r) => server.close(r)) };
}

test('what the answerer declines reaches the routes; what it answers does not', async () => {
  const s = await serve((req, res) => (req.url === '/hot' ? (res.end('hot'), true) : false));
  try {
    assert.equal(await (await fetch(`${s.url}/hot`)).text(), 'hot');
    assert.equal(await (await fetch(`${s.url}/other`)).text(), 'routes');
  } finally {
    await s.close();
  }
});

test('a throw before anything is sent is logged and the routes answer; after, the connection is closed; the process lives', async () => {
  const s = await serve((req, res) => {
    if (req.url === '/late') res.writeHead(200, { 'content-length': '10' });
    throw new Error(`broken on ${req.url}`);
  });
  try {
    assert.equal(await (await fetch(`${s.url}/early`)).text(), 'routes');
    await assert.rejects(fetch(`${s.url}/late`).then((r) => r.text()));
    assert.equal(await (await fetch(`${s.url}/early`)).text(), 'routes');
    assert.equal(s.errors.length, 3);
    assert.match(s.errors[0] ?? '', /"msg":"hot read failed"/);
    assert.match(s.errors[0] ?? '', /broken on \/early/);
  } finally {
    await s.close();
  }
});

test('it refuses to stand in front of anything but exactly one listener', () => {
  const log = pino({ level: 'silent' });
  assert.throws(() => answerFirst(http.createServer(), () => false, log), /found 0/);
});
