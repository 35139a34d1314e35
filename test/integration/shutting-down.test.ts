import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';

/** Reads one HTTP response (headers and a Content-Length body) from `socket`. */
function readResponse(socket: net.Socket): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = data.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (data.length - end - 4 >= length) resolve({ head, body: data.slice(end + 4, end + 4 + length) });
    });
    socket.once('error', reject);
  });
}

test('a request that arrives while the server shuts down: 503 SHUTTING_DOWN in the catalogue shape, Retry-After, Connection: close', async () => {
  const server = await startServer();
  const { port } = new URL(server.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  // A request half sent keeps its connection open through close(); it is routed once complete.
  socket.write('GET /assets/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: ams\r\n');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const closed = server.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const response = readResponse(socket);
  socket.write('\r\n');
  const { head, body } = await response;
  assert.match(head, /^HTTP\/1\.1 503 /);
  assert.match(head, /\r\nretry-after: \d+\r\n/i);
  assert.match(head, /\r\nconnection: close\r\n/i);
  assert.match(head, /\r\nx-request-id: \S+\r\n/i);
  const json = JSON.parse(body) as Record<string, unknown>;
  assert.equal(json.code, 'SHUTTING_DOWN');
  assert.equal(json.statusCode, 503);
  assert.match(String(json.message), /shutting down; retry/);
  socket.destroy();
  await closed;
});
