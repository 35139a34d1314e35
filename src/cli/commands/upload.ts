import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { Command } from 'commander';
import { MultiBar, type SingleBar } from 'cli-progress';
import { loadClientConfig } from '../../config.js';
import { configOrExit } from '../config.js';
import { CliError } from '../runtime.js';

interface Result {
  status: number;
  body: Record<string, unknown>;
}

async function sha256Base64(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

/**
 * Streams one file as multipart/form-data (never whole in memory), with its SHA-256 in
 * Repr-Digest (the server refuses a damaged transfer) and an Idempotency-Key (a retry after a
 * dropped connection cannot create a second asset).
 */
function send(url: URL, token: string, file: string, size: number, digest: string, key: string, bar: SingleBar | null): Promise<Result> {
  const boundary = `----ams-cli-${randomUUID()}`;
  const name = path.basename(file).replace(/["\r\n\\]/g, '_');
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="Filename"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(new URL('assets', url), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + size + tail.length),
        'repr-digest': `sha-256=:${digest}:`,
        'idempotency-key': key,
      },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(new Error(`the server answered ${res.statusCode} without JSON; is ${url.origin} an AMS server?`));
        }
      });
    });
    req.write(head);
    const body = createReadStream(file);
    body.on('data', (chunk) => bar?.increment(chunk.length));
    body.once('error', (err) => req.destroy(err));
    body.once('end', () => req.end(tail));
    body.pipe(req, { end: false });
  });
}

export function registerUpload(program: Command): void {
  program
    .command('upload')
    .description('upload files to a running AMS server and print each asset as JSON')
    .argument('<files...>', 'images or videos to upload')
    .option('--url <url>', 'AMS server (default: AMS_URL, else http://localhost:8080)')
    .option('--token <token>', 'bearer token (default: AMS_TOKEN, else <data dir>/token)')
    .option('--json', 'one compact JSON object per line, for machines')
    .action(async (files: string[], opts: { url?: string; token?: string; json?: boolean }) => {
      const client = loadClientConfig();
      let url: URL;
      try {
        url = new URL(`${(opts.url ?? client.url ?? 'http://localhost:8080').replace(/\/+$/, '')}/`);
      } catch {
        throw new CliError(`${opts.url ?? client.url} is not a URL; pass --url http://host:port`);
      }
      let token = opts.token ?? client.token;
      if (!token) {
        const file = path.join(configOrExit().dataDir, 'token');
        token = (await fs.readFile(file, 'utf8').catch(() => '')).split('\n')[0]?.trim() ?? '';
        if (!token) throw new CliError(`no token: pass --token, set AMS_TOKEN, or run where ${file} exists`);
      }
      const sizes = await Promise.all(
        files.map((f) =>
          fs.stat(f).then(
            (st) => (st.isFile() ? st.size : Promise.reject(new Error('not a file'))),
            (err: NodeJS.ErrnoException) => Promise.reject(new CliError(`cannot read ${f} (${err.code ?? err.message}); check the path`)),
          ),
        ),
      );
      // Bars only on a terminal: piped stderr (CI, scripts) stays free of redraw noise.
      const bars = process.stderr.isTTY ? new MultiBar({ format: '{file} [{bar}] {percentage}%', stream: process.stderr }) : null;
      let failed = 0;
      for (const [i, file] of files.entries()) {
        const bar = bars?.create(sizes[i]!, 0, { file: path.basename(file) }) ?? null;
        const digest = await sha256Base64(file);
        const key = randomUUID();
        let result: Result;
        try {
          result = await send(url, token, file, sizes[i]!, digest, key, bar);
        } catch {
          // One retry with the same key: if the first attempt was stored, the server replays it.
          bar?.update(0);
          result = await send(url, token, file, sizes[i]!, digest, key, bar).catch((err: Error) => {
            throw new CliError(`cannot reach ${url.origin} (${err.message}); is the server running? (--url / AMS_URL)`);
          });
        }
        bar?.stop();
        if (result.status === 201) {
          process.stdout.write(opts.json ? `${JSON.stringify(result.body)}\n` : `${JSON.stringify(result.body, null, 2)}\n`);
        } else {
          failed++;
          process.stderr.write(`ams: ${file}: ${String(result.body.message ?? `HTTP ${result.status}`)}\n`);
        }
      }
      bars?.stop();
      if (failed > 0) throw new CliError(`${failed} of ${files.length} uploads failed (see above)`);
    });
}
