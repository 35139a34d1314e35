import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/deps.js';
import { filesUnder } from './files.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/media/', import.meta.url));
export const TOKEN = 'test-token-0123456789abcdef';
/** Deliberately not the server's own address: href must come from configuration, never from Host. */
export const PUBLIC_URL = 'http://media.example.test';

export interface Expected {
  kind: 'image' | 'video';
  mimeType: string;
  ext: string;
  width: number;
  height: number;
  durationMs: number | null;
}
export const expected: Record<string, Expected> = JSON.parse(
  await fs.readFile(path.join(FIXTURES, 'expected.json'), 'utf8'),
);

export function fixture(name: string): Promise<Buffer> {
  return fs.readFile(path.join(FIXTURES, name));
}

export interface TestServer {
  app: FastifyInstance;
  /** http://127.0.0.1:<port> */
  url: string;
  dataDir: string;
  /** Maps an href (built on PUBLIC_URL) to this server's real address. */
  local(href: string): string;
  /** Every file under the data directory's blobs/ and tmp/ (what an upload may leave behind). */
  storedFiles(): Promise<string[]>;
  close(): Promise<void>;
}

/** The real service (SQLite + local disk in a fresh temp data dir) listening on an ephemeral loopback port. */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-test-'));
  const config = loadConfig({
    AMS_DATA_DIR: dataDir,
    AMS_TOKENS: TOKEN,
    AMS_PUBLIC_URL: PUBLIC_URL,
    AMS_LOG_LEVEL: 'silent',
    ...env,
  });
  const runtime = await createRuntime(config);
  const app = await buildApp(runtime.deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    url,
    dataDir,
    local: (href) => href.replace(PUBLIC_URL, url),
    storedFiles: async () => [...(await filesUnder(path.join(dataDir, 'blobs'))), ...(await filesUnder(path.join(dataDir, 'tmp')))],
    async close() {
      await app.close();
      await runtime.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface UploadOptions {
  filename?: string;
  contentType?: string;
  field?: string;
  token?: string | null;
}

/** A real multipart upload through fetch (undici), as a browser or SDK would send it. */
export async function upload(server: TestServer, bytes: Buffer, opts: UploadOptions = {}): Promise<Response> {
  const form = new FormData();
  form.append(opts.field ?? 'Filename', new Blob([bytes], { type: opts.contentType ?? 'application/octet-stream' }), opts.filename ?? 'file.bin');
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${server.url}/assets`, { method: 'POST', body: form, headers });
}

/** Sends a hand-built body (for multipart that fetch cannot produce). */
export async function postRaw(server: TestServer, body: Buffer | string, contentType: string, token = TOKEN): Promise<Response> {
  return fetch(`${server.url}/assets`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
  });
}

export function multipartBody(parts: Array<{ field: string; filename?: string; contentType?: string; data: Buffer | string }>) {
  const boundary = `----ams${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.field}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n`));
    if (p.contentType) chunks.push(Buffer.from(`Content-Type: ${p.contentType}\r\n`));
    chunks.push(Buffer.from('\r\n'), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Response.json() is typed `unknown` on Node 20; tests read bodies as the plain JSON they are. */

export const json = (res: Response): Promise<any> => res.json() as Promise<any>;
