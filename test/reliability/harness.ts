import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { TOKEN } from '../helpers/server.js';
import { filesUnder } from '../helpers/files.js';

/**
 * The reliability suite runs AMS as a real child process (built `dist/main.js`), because it must
 * be killed with SIGKILL and have its memory measured from outside, which an in-process server cannot.
 */
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Peak resident memory of the server so far (VmHWM), in bytes. */
  peakRss(): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node dist/main.js` on an ephemeral loopback port; resolves once it listens (bounded: 20 s). */
export async function spawnServer(dataDir: string, env: Record<string, string> = {}, uid?: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    ...(uid === undefined ? {} : { uid, gid: uid }),
    env: {
      PATH: process.env.PATH ?? '',
      AMS_DATA_DIR: dataDir,
      AMS_PORT: '0',
      AMS_HOST: '127.0.0.1',
      AMS_TOKENS: TOKEN,
      ...env,
      // The port is learnt from the "Server listening" line, logged at info.
      AMS_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()).slice(-4000));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`AMS did not start within 20 s: ${stderr}`));
    }, 20_000);
    let buffered = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
      if (buffered.length > 100_000) buffered = buffered.slice(-1000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`AMS exited (${code}) before listening: ${stderr}`));
    });
  });
  return {
    url,
    child,
    async peakRss() {
      const status = await fs.readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A noisy (so hardly compressible, photo-sized) JPEG of the given size. */
export function noiseJpeg(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** The same JPEG with a COM segment carrying `n` after SOI: distinct bytes (no dedupe), same image. */
export function withComment(jpeg: Buffer, n: number): Buffer {
  const text = Buffer.from(`ams-reliability-${n}`);
  const seg = Buffer.alloc(4);
  seg.writeUInt16BE(0xfffe, 0);
  seg.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, text, jpeg.subarray(2)]);
}

export interface RawResult {
  status: number;
  body: string;
}

/**
 * One multipart upload over node:http, written in chunks of `chunk` bytes with `pauseMs` between
 * them, so a test can have many uploads genuinely in flight at once. Network errors resolve as status 0.
 */
export function rawUpload(url: string, bytes: Buffer, name: string, opts: { chunk?: number; pauseMs?: number } = {}): Promise<RawResult> {
  const boundary = `----rel${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="Filename"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const body = Buffer.concat([head, bytes, tail]);
  const chunk = opts.chunk ?? body.length;
  return new Promise((resolve) => {
    const req = http.request(`${url}/assets`, {
      method: 'POST',
      agent: false,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': body.length,
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve({ status: 0, body: text }));
    });
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    (async () => {
      for (let off = 0; off < body.length; off += chunk) {
        if (req.destroyed) return;
        req.write(body.subarray(off, off + chunk));
        if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
      req.end();
    })();
  });
}

export async function fetchBytes(url: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Every row of the SQLite database, read directly (what any client could eventually be shown). */
export function rows(dataDir: string): Array<{ id: string; md5: string; sha256: string; blob_key: string; size_bytes: number }> {
  const db = new Database(path.join(dataDir, 'ams.sqlite'), { readonly: true });
  try {
    return db.prepare('select id, md5, sha256, blob_key, size_bytes from assets').all() as never;
  } finally {
    db.close();
  }
}

export { filesUnder };

/** Blob files not referenced by any row: what a crash between blob and row leaves for `ams gc`. */
export async function orphanBlobs(dataDir: string): Promise<string[]> {
  const root = path.join(dataDir, 'blobs');
  const referenced = new Set(rows(dataDir).map((r) => path.join(root, ...r.blob_key.split('/'))));
  return (await filesUnder(root)).filter((f) => !f.includes(`${path.sep}.staging${path.sep}`) && !referenced.has(f));
}

/** No client action of the helpers below takes longer than this; a stuck one is destroyed. */
export const CLIENT_BOUND_MS = 10_000;

/** Open file descriptors of a process. */
export const fdsOf = async (pid: number) => (await fs.readdir(`/proc/${pid}/fd`)).length;
/** Resident memory of a process now (VmRSS), in bytes. */
export const rssOf = async (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

/** What the descriptors point at, grouped ("socket" × 3, "/…/ams.sqlite" × 1): names a leak. */
export async function fdTargets(pid: number): Promise<string> {
  const counts = new Map<string, number>();
  for (const fd of await fs.readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = (await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => 'gone')).replace(/:\[\d+\]$/, '');
    counts.set(target, (counts.get(target) ?? 0) + 1);
  }
  return [...counts].map(([t, n]) => `${t} ×${n}`).join(', ');
}

/** One request on its own connection that is closed afterwards (a pooled fetch would hold a server fd). */
export function probe(url: string): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: CLIENT_BOUND_MS }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, location: res.headers.location }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${CLIENT_BOUND_MS} ms`)));
    req.on('error', reject);
  });
}

/** A loopback connection, once connected; its errors are expected and ignored. */
export async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {}); // resets are what these tests are made of
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

/** A sample's value in a Prometheus text exposition. */
export const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

export type HangUp = 'sent' | 'first-chunk' | number;

/**
 * Writes `parts` (pausing `pauseMs` between them) on a fresh connection, then hangs up: right after
 * writing ('sent'), on the first byte of the answer, or once `n` bytes of it have arrived. Odd
 * rounds reset the connection (RST), even ones close it (FIN): the server sees both in the wild.
 * Resolves with the bytes received; never takes longer than CLIENT_BOUND_MS.
 */
export async function hangUp(port: number, parts: Array<string | Buffer>, when: HangUp, round: number, pauseMs = 0): Promise<number> {
  const socket = await connect(port);
  let got = 0;
  const cut = () => (round % 2 === 1 ? socket.resetAndDestroy() : socket.destroy());
  const done = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (when === 'first-chunk' || (typeof when === 'number' && got >= when)) cut();
    });
    socket.once('close', () => resolve());
  });
  for (const p of parts) {
    if (socket.destroyed) break;
    socket.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
    if (pauseMs > 0) await sleep(pauseMs);
  }
  if (when === 'sent') cut();
  await Promise.race([done, sleep(CLIENT_BOUND_MS, undefined, { ref: false })]);
  socket.destroy();
  return got;
}

/** Runs `count` rounds of `fn`, `width` at a time: pressure without an unbounded burst. */
export async function rounds(count: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < count; i += width) await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, j) => fn(i + j)));
}
