import sharp from 'sharp';
import { startServer, upload } from './helpers/server.js';
const s = await startServer();
const images = await Promise.all(Array.from({ length: 32 }, (_, i) => sharp({ create: { width: 40 + i, height: 30, channels: 3, background: { r: i * 7, g: 255 - i * 5, b: 90 } } }).png().toBuffer()));
for (let round = 0; round < 3; round++) {
  const t0 = Date.now();
  const lat = await Promise.all(images.map(async (b, i) => { const t = Date.now(); const r = await upload(s, b, { filename: `i${i}.png` }); await r.arrayBuffer(); return Date.now() - t; }));
  lat.sort((a, b) => a - b);
  console.log('round', round, 'total', Date.now() - t0, 'p50', lat[16], 'max', lat[31]);
}
await s.close();
