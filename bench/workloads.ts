import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Result } from 'autocannon';
import { distinctJpeg, type BenchMedia } from './media.js';
import { SECONDS, cannon, curlUpload, download, seedAssets, settledAssets, uploadFile, uploadRequests } from './load.js';
import { PINNED, SERVER_CORE, memory, resetPeak, startAms, startBareFastify, startBareMultipart, startNginx, type Running } from './servers.js';
import { spread, type Row, type Spread } from './stats.js';
import { wrk, type WrkResult } from './wrk.js';

/** User + system CPU seconds of process `pid` so far (all its threads), from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await fs.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, clock ticks of 1/100 s
}

/**
 * wrk: a warm-up, then RUNS timed runs. With `pid`, each run also records the server's CPU time
 * per request (µs): unlike req/s it does not depend on whether the load generator kept up.
 */
async function wrkRuns(base: string, paths: string[], connections: number, pid?: number): Promise<Array<WrkResult & { cpuUs?: number }>> {
  await wrk(base, paths, connections, Math.max(1, Math.round(SECONDS / 2)));
  const out: Array<WrkResult & { cpuUs?: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    const before = pid === undefined ? 0 : await cpuSeconds(pid);
    const r = await wrk(base, paths, connections, SECONDS);
    out.push(pid === undefined ? r : { ...r, cpuUs: (((await cpuSeconds(pid)) - before) / (r.rps * SECONDS)) * 1e6 });
  }
  return out;
}
const wrkRate = (rs: WrkResult[]) => spread(rs.map((r) => r.rps));
const wrkP99 = (rs: WrkResult[]) => spread(rs.map((r) => r.p99));
const cpuPerRequest = (rs: Array<{ cpuUs?: number }>) => spread(rs.map((r) => r.cpuUs ?? NaN));

const RUNS = 3;
const MB = 1e6;

/** A warm-up run, then RUNS timed runs of autocannon. */
async function measured(fn: (seconds: number) => Promise<Result>, seconds = SECONDS): Promise<Result[]> {
  await fn(Math.max(1, Math.round(seconds / 2)));
  const out: Result[] = [];
  for (let i = 0; i < RUNS; i++) out.push(await fn(seconds));
  return out;
}
/** MB/s of 32 connections downloading `url`: a warm-up, then RUNS runs. */
async function largeFile(url: string): Promise<Spread> {
  await download(url, 32, Math.max(1, SECONDS / 2));
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await download(url, 32, SECONDS);
    out.push(r.bytes / r.seconds / MB);
  }
  return spread(out);
}
const rate = (rs: Result[]) => spread(rs.map((r) => r.requests.total / r.duration));
const p = (rs: Result[], k: 'p50' | 'p99') => spread(rs.map((r) => r.latency[k]));

async function withServer<T>(start: () => Promise<Running>, use: (s: Running) => Promise<T>): Promise<T> {
  // Each server starts with nothing dirty in the page cache: the bare upload servers leave GBs
  // unwritten, whose writeback would otherwise run (CPU and disk) during the next server's runs.
  execFileSync('sync');
  const s = await start();
  try {
    return await use(s);
  } finally {
    await s.stop();
  }
}

/** The second upload ceiling: the bare server plus exactly what makes AMS's 201 durable and content-addressed. */
const DURABLE = 'bare + SHA-256 address + the same fsyncs';

export async function benchW1(work: string, media: BenchMedia): Promise<Row[]> {
  const ams = await withServer(() => startAms(path.join(work, 'w1-ams')), (s) => measured((sec) => cannon(s.url, 8, uploadRequests(media.photo200k), sec)));
  const bare = await withServer(() => startBareMultipart(path.join(work, 'w1-bare')), (s) => measured((sec) => cannon(s.url, 8, uploadRequests(media.photo200k), sec)));
  const durable = await withServer(() => startBareMultipart(path.join(work, 'w1-bare-durable'), true), (s) => measured((sec) => cannon(s.url, 8, uploadRequests(media.photo200k), sec)));
  const name = `bare node:http + busboy + MD5`;
  const kb = Math.round(media.photo200k.length / 1000);
  return [
    { workload: `W1 upload ${kb} KB JPEG, c=8`, metric: 'uploads/s', ams: rate(ams), ceilingName: name, ceiling: rate(bare), better: 'higher', target: '≥ 0.6' },
    { workload: 'W1, same durability', metric: 'uploads/s', ams: rate(ams), ceilingName: DURABLE, ceiling: rate(durable), better: 'higher', target: '' },
    { workload: 'W1', metric: 'p50 ms', ams: p(ams, 'p50'), ceilingName: name, ceiling: p(bare, 'p50'), better: 'lower', target: '' },
    { workload: 'W1', metric: 'p99 ms', ams: p(ams, 'p99'), ceilingName: name, ceiling: p(bare, 'p99'), better: 'lower', target: '' },
  ];
}

export async function benchW2(work: string, media: BenchMedia): Promise<Row[]> {
  const dataDir = path.join(work, 'w2-ams');
  const small = await sharp(media.photo50k).resize(64).jpeg().toBuffer();
  let assets: Array<Record<string, unknown>> = [];
  const ams = await withServer(() => startAms(dataDir), async (s) => {
    assets = await seedAssets(s.url, small, 1000);
    // The bare route must answer the very JSON AMS does (placeholders included): take it from AMS.
    assets = await settledAssets(s.url, assets.map((a) => String(a.id)));
    return wrkRuns(s.url, assets.map((a) => `/assets/${a.id}`), 32, s.pid);
  });
  const json = path.join(work, 'w2-assets.json');
  await fs.writeFile(json, JSON.stringify(assets));
  const bare = await withServer(() => startBareFastify(json), (s) => wrkRuns(s.url, assets.map((a) => `/assets/${a.id}`), 32, s.pid));
  const name = 'bare Fastify route, same JSON from memory';
  return [
    { workload: 'W2 GET /assets/{id}, 1,000 assets, c=32', metric: 'req/s', ams: wrkRate(ams), ceilingName: name, ceiling: wrkRate(bare), better: 'higher', target: '≥ 0.7' },
    { workload: 'W2', metric: 'p99 ms', ams: wrkP99(ams), ceilingName: name, ceiling: wrkP99(bare), better: 'lower', target: '' },
    { workload: 'W2', metric: 'server CPU µs/request', ams: cpuPerRequest(ams), ceilingName: name, ceiling: cpuPerRequest(bare), better: 'lower', target: '' },
  ];
}

async function uploadJson(url: string, bytes: Buffer, name: string): Promise<{ id: string; href: string; [k: string]: unknown }> {
  const form = new FormData();
  form.append('Filename', new Blob([bytes]), name);
  const res = await fetch(`${url}/assets`, { method: 'POST', body: form, headers: { authorization: 'Bearer bench-token-0123456789abcdef' } });
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; href: string };
}

export async function benchW3(work: string, media: BenchMedia): Promise<{ rows: Row[]; amsSmall: Spread }> {
  const dataDir = path.join(work, 'w3-ams');
  const { small, large } = await withServer(() => startAms(dataDir), async (s) => {
    const a = await uploadJson(s.url, media.photo50k, 'small.jpg');
    const big = await uploadFile(s.url, media.video20m, 'large.mp4');
    if (big.status !== 201) throw new Error(`20 MB upload: ${big.status} ${big.body}`);
    const b = JSON.parse(big.body) as { href: string };
    const small = await wrkRuns(s.url, [new URL(a.href).pathname], 32);
    const large = await largeFile(`${s.url}${new URL(b.href).pathname}`);
    return { small, large };
  });
  const root = path.join(work, 'w3-nginx');
  await fs.mkdir(root, { recursive: true });
  await fs.chmod(work, 0o755);
  await fs.writeFile(path.join(root, 'small.jpg'), media.photo50k);
  await fs.copyFile(media.video20m, path.join(root, 'large.mp4'));
  const ng = await withServer(() => startNginx(root, root), async (s) => ({
    small: await wrkRuns(s.url, ['/small.jpg'], 32),
    large: await largeFile(`${s.url}/large.mp4`),
  }));
  const name = 'nginx-light, 1 worker, sendfile';
  return {
    amsSmall: wrkRate(small),
    rows: [
      { workload: `W3 file URL, ${Math.round(media.photo50k.length / 1000)} KB image, c=32`, metric: 'req/s', ams: wrkRate(small), ceilingName: name, ceiling: wrkRate(ng.small), better: 'higher', target: '≥ 0.4' },
      { workload: 'W3 file URL, 20 MB file, c=32', metric: 'MB/s', ams: large, ceilingName: name, ceiling: ng.large, better: 'higher', target: '' },
    ],
  };
}

/** Median latency (ms) of sharp alone on the server core, in its own process. */
function sharpAlone(photo: string, runs: number): number {
  const cmd = [process.execPath, '--import', 'tsx', 'bench/sharp-alone.ts', photo, String(runs)];
  const out = execFileSync(PINNED ? 'taskset' : cmd[0] as string, PINNED ? ['-c', SERVER_CORE, ...cmd] : cmd.slice(1), { encoding: 'utf8' });
  return (JSON.parse(out) as { medianMs: number }).medianMs;
}

export async function benchW4(work: string, media: BenchMedia, w3small: Spread | null, notes: string[]): Promise<Row[]> {
  const ceiling = spread(Array.from({ length: RUNS }, () => sharpAlone(media.photo12mp, 50)));
  const photo = await fs.readFile(media.photo12mp);
  const result = await withServer(() => startAms(path.join(work, 'w4-ams')), async (s) => {
    const assets = [];
    for (let i = 0; i < 50; i++) assets.push(await uploadJson(s.url, distinctJpeg(photo, 2_000_000_000 + i), `w4-${i}.jpg`));
    // Cold latency is the transform's, not a share of the core with the placeholder queue.
    await settledAssets(s.url, assets.map((a) => a.id));
    // The derivative grammar: /images/{id}?width=320&format=webp → 303 to a canonical URL.
    const derivative = async (id: string): Promise<{ ms: number; url: string } | null> => {
      const t = performance.now();
      const r = await fetch(`${s.url}/images/${id}?width=320&format=webp`, { redirect: 'manual' });
      const location = r.headers.get('location');
      if (r.status !== 303 || location === null) return null;
      const target = new URL(location, s.url);
      const file = await fetch(`${s.url}${target.pathname}${target.search}`);
      const bytes = Buffer.from(await file.arrayBuffer());
      const ms = performance.now() - t;
      if (!(file.headers.get('content-type') ?? '').includes('image/webp')) return null;
      const meta = await sharp(bytes).metadata();
      return meta.format === 'webp' && meta.width === 320 ? { ms, url: `${target.pathname}${target.search}` } : null;
    };
    const cold: number[] = [];
    let url = '';
    for (const a of assets) {
      const d = await derivative(a.id);
      if (d === null) return null;
      cold.push(d.ms);
      url = d.url;
    }
    const warm = await wrkRuns(s.url, [url], 32);
    return { cold: spread(cold), warm: wrkRate(warm) };
  });
  if (result === null) notes.push('W4: `GET /images/{id}?width=320&format=webp` does not serve a 320 px WebP on this build (no derivatives yet): AMS figures not available; the sharp-alone ceiling is measured.');
  return [
    { workload: 'W4 320 px WebP of a 12 MP photo, cold, 50 assets', metric: 'median ms', ams: result?.cold ?? null, ceilingName: 'sharp alone, same image', ceiling, better: 'lower', target: '≤ 1.3' },
    { workload: 'W4 warm, c=32', metric: 'req/s', ams: result?.warm ?? null, ceilingName: 'AMS W3 50 KB file', ceiling: w3small, better: 'higher', target: '≥ 0.8' },
  ];
}

export async function benchW5(work: string, media: BenchMedia): Promise<Row[]> {
  const size = (await fs.stat(media.video1g)).size;
  const once = async (s: Running) => {
    await resetPeak(s.pid);
    const before = await memory(s.pid);
    const r = curlUpload(s.url, media.video1g, 'big.mp4');
    if (r.status !== 201) throw new Error(`1 GiB upload: ${r.status} ${r.body}`);
    const after = await memory(s.pid);
    return { mbps: size / r.seconds / MB, growth: (after.peak - before.rss) / MB };
  };
  const three = async (s: Running) => {
    await once(s); // warm-up (page cache, JIT)
    const out = [];
    for (let i = 0; i < RUNS; i++) out.push(await once(s));
    return out;
  };
  const ams = await withServer(() => startAms(path.join(work, 'w5-ams')), three);
  const bare = await withServer(() => startBareMultipart(path.join(work, 'w5-bare')), three);
  const durable = await withServer(() => startBareMultipart(path.join(work, 'w5-bare-durable'), true), three);
  // Unpinned (both cores): AMS hashes MD5 and SHA-256 in worker threads when it has a second core.
  const unpinned = await withServer(() => startAms(path.join(work, 'w5-ams-unpinned'), [], false), three);
  // What this disk takes durably (what AMS's 201 promises), on the same filesystem: dd then fdatasync.
  const dd = path.join(work, 'w5-dd');
  const disk = spread(
    Array.from({ length: RUNS }, () => {
      const t = performance.now();
      execFileSync('dd', ['if=/dev/zero', `of=${dd}`, 'bs=1M', `count=${Math.round(size / MB)}`, 'conv=fdatasync'], { stdio: 'ignore' });
      return size / ((performance.now() - t) / 1000) / MB;
    }),
  );
  await fs.rm(dd, { force: true });
  const md5 = spread(
    Array.from({ length: RUNS }, () => {
      const t = performance.now();
      execFileSync(PINNED ? 'taskset' : 'md5sum', PINNED ? ['-c', SERVER_CORE, 'md5sum', media.video1g] : [media.video1g]);
      return size / ((performance.now() - t) / 1000) / MB;
    }),
  );
  const amsRate = spread(ams.map((r) => r.mbps));
  return [
    { workload: 'W5 upload 1 GiB video', metric: 'MB/s', ams: amsRate, ceilingName: 'bare node:http + busboy + MD5', ceiling: spread(bare.map((r) => r.mbps)), better: 'higher', target: '≥ 0.9' },
    { workload: 'W5, same durability', metric: 'MB/s', ams: amsRate, ceilingName: DURABLE, ceiling: spread(durable.map((r) => r.mbps)), better: 'higher', target: '' },
    { workload: 'W5 unpinned, hashing in threads', metric: 'MB/s', ams: spread(unpinned.map((r) => r.mbps)), ceilingName: '`md5sum` of the same file', ceiling: md5, better: 'higher', target: '≥ 0.7' },
    { workload: 'W5 unpinned', metric: 'MB/s', ams: spread(unpinned.map((r) => r.mbps)), ceilingName: 'this disk, durably (`dd bs=1M conv=fdatasync`)', ceiling: disk, better: 'higher', target: '' },
    { workload: 'W5', metric: 'peak RSS growth MB', ams: spread(ams.map((r) => r.growth)), ceilingName: 'bare multipart server', ceiling: spread(bare.map((r) => r.growth)), better: 'none', target: '≤ 100 MB' },
  ];
}
