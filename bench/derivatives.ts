/**
 * Quick derivative benchmark (not a test): a 320 px WebP of a ~12 MP photo.
 *  - cold: the first request for each of N distinct sources (303 → canonical URL → transform → store),
 *  - warm: req/s of one cached derivative under autocannon,
 * each beside sharp alone doing the same work on the same images in the same run, as a ratio.
 * Usage: node --import tsx bench/derivatives.ts [sources=50] [warmSeconds=10]
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { startServer, upload } from '../test/helpers/server.js';

const sources = Number(process.argv[2] ?? 50);
const warmSeconds = Number(process.argv[3] ?? 10);
sharp.cache(false);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] ?? NaN;

/** A 4000x3000 photo-like JPEG (gradient + noise, so the encoder has real entropy); `i` makes it distinct. */
async function photo(i: number): Promise<Buffer> {
  const noise = await sharp({
    create: { width: 4000, height: 3000, channels: 3, background: { r: 40 + i, g: 90, b: 160 }, noise: { type: 'gaussian', mean: 120 + i, sigma: 30 } },
  })
    .jpeg({ quality: 85 })
    .toBuffer();
  return sharp(noise).blur(1.5).jpeg({ quality: 85 }).toBuffer();
}

const sharpAlone = (bytes: Buffer) =>
  sharp(bytes).autoOrient().resize({ width: 320 }).toColourspace('srgb').webp({ quality: 80, effort: 4 }).toBuffer();

const server = await startServer({ AMS_LOG_LEVEL: 'silent' });
try {
  process.stderr.write(`making and uploading ${sources} sources of 12 MP…\n`);
  const images: Buffer[] = [];
  const ids: string[] = [];
  for (let i = 0; i < sources; i++) {
    const bytes = await photo(i);
    images.push(bytes);
    const res = await upload(server, bytes, { filename: `photo-${i}.jpg` });
    if (res.status !== 201) throw new Error(`upload ${i}: ${res.status} ${await res.text()}`);
    ids.push(((await res.json()) as { id: string }).id);
  }

  // Interleave AMS and sharp alone per source, so machine noise hits both alike.
  const cold: number[] = [];
  const alone: number[] = [];
  let warmUrl = '';
  for (let i = 0; i < sources; i++) {
    let t = performance.now();
    const redirect = await fetch(`${server.url}/images/${ids[i]}?width=320&format=webp`, { redirect: 'manual' });
    const file = await fetch(server.local(redirect.headers.get('location') ?? ''));
    const body = Buffer.from(await file.arrayBuffer());
    cold.push(performance.now() - t);
    if (file.status !== 200 || (await sharp(body).metadata()).width !== 320) throw new Error(`derivative ${i}: ${file.status}`);
    warmUrl = file.url;
    t = performance.now();
    await sharpAlone(images[i] as Buffer);
    alone.push(performance.now() - t);
  }

  // autocannon's CLI in its own process, so the load generator does not share the server's event loop.
  const { stdout } = await promisify(execFile)('node_modules/.bin/autocannon', ['-j', '-c', '16', '-d', String(warmSeconds), warmUrl], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const warm = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number }; errors: number; non2xx: number };
  // sharp alone, as many transforms at once as AMS allows by default (cores), for the same time.
  const deadline = performance.now() + warmSeconds * 1000;
  let done = 0;
  const image = images[0] as Buffer;
  await Promise.all(
    Array.from({ length: availableParallelism() }, async () => {
      while (performance.now() < deadline) {
        await sharpAlone(image);
        done++;
      }
    }),
  );
  const aloneRps = done / warmSeconds;
  const result = {
    sources,
    coldMedianMs: Math.round(median(cold)),
    coldP95Ms: Math.round(p95(cold)),
    sharpAloneMedianMs: Math.round(median(alone)),
    coldOverSharpAlone: Number((median(cold) / median(alone)).toFixed(2)),
    warmReqPerSec: Math.round(warm.requests.average),
    warmP50Ms: warm.latency.p50,
    warmErrors: warm.errors + warm.non2xx,
    sharpAloneTransformsPerSec: Number(aloneRps.toFixed(1)),
    warmOverSharpAlone: Number((warm.requests.average / aloneRps).toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await server.close();
}
