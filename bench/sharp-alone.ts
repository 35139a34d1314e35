import sharp from 'sharp';

/**
 * Ceiling for W4: sharp alone making the 320 px WebP of the same photo, from the file, each run a
 * fresh pipeline (as a cold derivative is). Prints the median latency in ms.
 * Usage: node --import tsx bench/sharp-alone.ts <photo> <runs>
 */
const [file, runsArg] = process.argv.slice(2) as [string, string];
sharp.cache(false);
const times: number[] = [];
for (let i = 0; i < Number(runsArg); i++) {
  const t = performance.now();
  await sharp(file).rotate().resize({ width: 320 }).webp().toBuffer();
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ medianMs: times[Math.floor(times.length / 2)] })}\n`);
