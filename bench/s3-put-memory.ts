/**
 * How much memory an upload to S3 costs: puts one large local file (as the upload pipeline does
 * after receiving it) through S3BlobStore.putFile into s3rver running in another process, sampling
 * this process's RSS. Run: node --import tsx bench/s3-put-memory.ts [MiB=1024]
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createS3Client } from '../src/blob/s3-client.js';
import { S3BlobStore } from '../src/blob/s3.js';
import { loadConfig } from '../src/config.js';

const mib = Number(process.argv[2] ?? 1024);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-bench-s3-'));
const file = path.join(dir, 'big.bin');
const out = createWriteStream(file);
const block = randomBytes(1024 * 1024);
for (let i = 0; i < mib; i++) if (!out.write(block)) await once(out, 'drain');
out.end();
await once(out, 'finish');

// s3rver in its own process, so its memory is not counted as ours.
const server = spawn(
  process.execPath,
  ['-e', `const S=require('s3rver');new S({address:'127.0.0.1',port:0,silent:true,directory:${JSON.stringify(path.join(dir, 's3'))},configureBuckets:[{name:'bench'}]}).run().then(a=>console.log(a.port))`],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const [portLine] = (await once(server.stdout!, 'data')) as [Buffer];
process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
const storage = loadConfig({ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'bench', AMS_S3_ENDPOINT: `http://127.0.0.1:${String(portLine).trim()}`, AMS_S3_FORCE_PATH_STYLE: 'true' }).storage;
if (storage.kind !== 's3') throw new Error('not s3');
const client = createS3Client(storage);
const store = new S3BlobStore({ client, bucket: 'bench', prefix: '', publicBaseUrl: null });

global.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const started = performance.now();
await store.putFile(`originals/00/00/${'0'.repeat(64)}`, file, { size: mib * 1024 * 1024, contentType: 'video/mp4' });
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
console.log(
  `${mib} MiB file → S3 multipart upload: ${seconds.toFixed(1)} s (${(mib / seconds).toFixed(0)} MiB/s into s3rver), ` +
    `RSS baseline ${(baseline / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB, ` +
    `peak growth ${((peak - baseline) / 2 ** 20).toFixed(0)} MiB = ${((100 * (peak - baseline)) / (mib * 2 ** 20)).toFixed(1)} % of the file`,
);
client.destroy();
server.kill();
await fs.rm(dir, { recursive: true, force: true });
