import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { prepareMedia } from './media.js';
import { seedAssets, settledAssets } from './load.js';
import { wrk } from './wrk.js';
import { startAms, startBareFastify } from './servers.js';

/**
 * `node --import tsx bench/cpu-per-request.ts W2|W3|W2-bare [runs]`: CPU time the AMS process spends per
 * request (user + system, all threads, from /proc/<pid>/stat) under the W2 or W3 load. Steadier
 * than req/s on a shared VM: a noisy neighbour slows both AMS and its ceiling, but barely moves
 * the CPU AMS needs for one request. Used to check a change to the request path before a bench.
 * `W2-bare` measures the W2 ceiling (bench/bare-fastify.ts) the same way.
 */
const which = process.argv[2] ?? 'W2';
const runs = Number(process.argv[3] ?? 3);
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-cpu-'));
const media = await prepareMedia(path.join(os.tmpdir(), 'ams-bench-media'), 'test/fixtures/media');
const data = path.join(work, 'data');
const seeder = await startAms(data);
const assets = await settledAssets(seeder.url, (await seedAssets(seeder.url, media.photo50k, 200)).map((a) => String(a.id)));
await seeder.stop();
const paths = which !== 'W3' ? assets.map((a) => `/assets/${String(a.id)}`) : [new URL(String(assets[0]?.href)).pathname];
let s;
if (which === 'W2-bare') {
  const json = path.join(work, 'assets.json');
  await fs.writeFile(json, JSON.stringify(assets));
  s = await startBareFastify(json);
} else s = await startAms(data);
const ticks = async () => {
  const stat = (await fs.readFile(`/proc/${s.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return Number(stat[11]) + Number(stat[12]); // utime + stime, in clock ticks (1/100 s)
};
await wrk(s.url, paths, 32, 2); // warm-up
for (let i = 0; i < runs; i++) {
  const before = await ticks();
  const r = await wrk(s.url, paths, 32, Number(process.env.BENCH_SECONDS ?? 5));
  const cpu = ((await ticks()) - before) / 100;
  const requests = r.rps * Number(process.env.BENCH_SECONDS ?? 5);
  console.log(`${which}: ${Math.round(r.rps)} req/s, ${((cpu / requests) * 1e6).toFixed(1)} µs CPU/request, cpu ${cpu.toFixed(2)} s`);
}
await s.stop();
await fs.rm(work, { recursive: true, force: true });
