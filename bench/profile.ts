import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { prepareMedia } from './media.js';
import { cannon, seedAssets, settledAssets, uploadFile, uploadRequests } from './load.js';
import { wrk } from './wrk.js';
import { startAms } from './servers.js';

/**
 * `node --import tsx bench/profile.ts W1|W2|W3|W5`: runs AMS under `node --cpu-prof` for one
 * workload and prints the functions with the most self time (the profile is kept in the printed
 * directory). For the GET workloads the assets are uploaded by a first, unprofiled process, so
 * the profile holds the GETs only.
 */
const which = process.argv[2] ?? 'W1';
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-prof-'));
const profDir = path.join(work, 'prof');
const media = await prepareMedia(path.join(os.tmpdir(), 'ams-bench-media'), 'test/fixtures/media');
const data = path.join(work, 'data');
let paths: string[] = [];
if (which === 'W2' || which === 'W3') {
  const seeder = await startAms(data);
  const assets = await settledAssets(seeder.url, (await seedAssets(seeder.url, media.photo50k, 200)).map((a) => String(a.id)));
  await seeder.stop();
  paths = which === 'W2' ? assets.map((a) => `/assets/${String(a.id)}`) : [new URL(String(assets[0]?.href)).pathname];
}
const s = await startAms(data, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
if (which === 'W1') await cannon(s.url, 8, uploadRequests(media.photo200k), 8);
else if (paths.length > 0) await wrk(s.url, paths, 32, 8);
else await uploadFile(s.url, media.video1g, 'big.mp4');
await s.stop();

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; }
const [file] = await fs.readdir(profDir);
const prof = JSON.parse(await fs.readFile(path.join(profDir, file as string), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
prof.samples.forEach((id, i) => {
  const n = byId.get(id) as Node;
  const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*node_modules\//, '').replace(/.*wt-bench\//, '')}:${n.callFrame.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
process.stdout.write(`profile: ${profDir}\n`);
