import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import autocannon, { type RequestSpec, type Result } from 'autocannon';
import { BENCH_TOKEN } from './servers.js';
import { distinctJpeg } from './media.js';

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

/** autocannon, refusing to report a figure made of errors. */
export async function cannon(url: string, connections: number, requests: RequestSpec[], seconds = SECONDS): Promise<Result> {
  const r = await autocannon({ url, connections, duration: seconds, requests, timeout: 60 });
  const bad = r.errors + r.timeouts + r.non2xx;
  // Large files may complete few responses per run; the bytes received still count (throughput).
  if (bad > 0 || (r.requests.total === 0 && r.throughput.total === 0)) {
    throw new Error(`${url}: ${bad} failed of ${r.requests.total} (${JSON.stringify(r.statusCodeStats)})`);
  }
  return r;
}

let counter = 0;
/** POST /assets with a fresh counter in every JPEG, so content dedupe never flatters the figure. */
export function uploadRequests(photo: Buffer): RequestSpec[] {
  const boundary = 'benchboundary7f3a';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="Filename"; filename="bench.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return [
    {
      method: 'POST',
      path: '/assets',
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      setupRequest: (req) => ({ ...req, body: Buffer.concat([head, distinctJpeg(photo, counter++), tail]) }),
    },
  ];
}

/** GETs cycling through `paths`. */
export function cycle(paths: string[]): RequestSpec[] {
  let i = 0;
  return [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] as string }) }];
}

/** One streamed multipart upload of a file; resolves with seconds taken and the JSON answer. */
export function uploadFile(url: string, file: string, name: string): Promise<{ seconds: number; status: number; body: string }> {
  const boundary = 'benchbigboundary';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="Filename"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = statSync(file).size;
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const req = http.request(`${url}/assets`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${BENCH_TOKEN}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': head.length + size + tail.length,
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ seconds: (performance.now() - t) / 1000, status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write(head);
    const rs = createReadStream(file, { highWaterMark: 1024 * 1024 });
    rs.pipe(req, { end: false });
    rs.on('end', () => req.end(tail));
    rs.on('error', reject);
  });
}

/**
 * The same upload by curl (W5). On two unpinned cores the node:http client above competed with
 * AMS's threads for its core and measured itself: 253 MB/s where curl, on the same core, saw
 * 410–480 MB/s against the same server. `Expect:` is cleared so no 100-continue round trip is timed.
 */
export function curlUpload(url: string, file: string, name: string): { seconds: number; status: number; body: string } {
  const out = execFileSync(
    'curl',
    ['-sS', '-H', 'Expect:', '-H', `Authorization: Bearer ${BENCH_TOKEN}`, '-F', `Filename=@${file};filename=${name}`, '-w', '\n%{http_code} %{time_total}', `${url}/assets`],
    { encoding: 'utf8', maxBuffer: 1024 * 1024 },
  );
  const cut = out.lastIndexOf('\n');
  const [status, seconds] = out.slice(cut + 1).split(' ').map(Number);
  return { seconds: seconds ?? NaN, status: status ?? 0, body: out.slice(0, cut) };
}

/** Uploads `n` distinct small JPEGs with bounded concurrency; returns their JSON answers. */
export async function seedAssets(url: string, photo: Buffer, n: number, concurrency = 16): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const form = new FormData();
      form.append('Filename', new Blob([distinctJpeg(photo, 1_000_000_000 + i)]), `seed-${i}.jpg`);
      const res = await fetch(`${url}/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
      if (res.status !== 201) throw new Error(`seeding: ${res.status} ${await res.text()}`);
      out.push((await res.json()) as Record<string, unknown>);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/**
 * Waits (bounded: 120 s) until every seeded image has its placeholders, which AMS makes in the
 * background once uploads stop, and returns each asset's final JSON: a GET workload must measure
 * the steady state, not share the core with a queue of placeholder decodes.
 */
export async function settledAssets(url: string, ids: readonly string[]): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const all = await Promise.all(ids.map(async (id) => (await fetch(`${url}/assets/${id}`)).json() as Promise<Record<string, unknown>>));
    if (all.every((a) => typeof a.thumbhash === 'string')) return all;
    if (Date.now() > deadline) throw new Error('placeholders not made within 120 s of seeding');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * `connections` keep-alive loops GETting `url` for `seconds`, counting bytes as they arrive.
 * For large files: autocannon stalled here at c=32 against AMS (0 responses in 4 s) while 32
 * parallel curls fetched the same 20 MB in ~2 s, so the figure would have measured the tool.
 */
export async function download(url: string, connections: number, seconds: number): Promise<{ bytes: number; seconds: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const t = performance.now();
  const deadline = t + seconds * 1000;
  let bytes = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http.get(url, { agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => resolve());
        res.on('error', reject);
      }).on('error', reject);
    });
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < deadline) await one();
  }));
  agent.destroy();
  return { bytes, seconds: (performance.now() - t) / 1000 };
}
