import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

/** Bench inputs, made once into `dir` and reused (the 1 GiB file takes a while). */
export interface BenchMedia {
  /** ~200 KB photo-like JPEG (W1). */
  photo200k: Buffer;
  /** ~50 KB JPEG (W3 small). */
  photo50k: Buffer;
  /** ~12 MP JPEG (W4). */
  photo12mp: string;
  /** A valid MP4 padded to 20 MB (W3 large). */
  video20m: string;
  /** A valid MP4 padded to 1 GiB (W5). */
  video1g: string;
}

/**
 * Smooth gradients with mild grain compress like a product photo (unlike pure noise, which is
 * 3-4x larger for the same pixel count and flatters nothing).
 */
async function photoLike(width: number, height: number, quality: number): Promise<Buffer> {
  const grain = await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .blur(1.2)
    .raw()
    .toBuffer();
  return sharp(grain, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(`<svg width="${width}" height="${height}"><defs><linearGradient id="g"><stop offset="0" stop-color="#c84"/><stop offset="1" stop-color="#48c"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)" opacity="0.7"/></svg>`) }])
    .jpeg({ quality })
    .toBuffer();
}

/** Finds a size whose JPEG lands near `target` bytes (a few encodes; bounded). */
async function photoNear(target: number, quality: number): Promise<Buffer> {
  let w = 600;
  let out = await photoLike(w, Math.round(w * 0.75), quality);
  for (let i = 0; i < 6 && Math.abs(out.length - target) / target > 0.1; i++) {
    w = Math.max(64, Math.round(w * Math.sqrt(target / out.length)));
    out = await photoLike(w, Math.round(w * 0.75), quality);
  }
  return out;
}

/** A real MP4 followed by one top-level `free` box of padding: valid ISO-BMFF of any size. */
async function paddedMp4(source: string, target: string, size: number): Promise<void> {
  if (existsSync(target) && (await fs.stat(target)).size === size) return;
  const head = await fs.readFile(source);
  const pad = size - head.length;
  const box = Buffer.alloc(8);
  box.writeUInt32BE(pad, 0);
  box.write('free', 4, 'latin1');
  const fh = await fs.open(target, 'w');
  try {
    await fh.write(head);
    await fh.write(box);
    const chunk = Buffer.alloc(8 * 1024 * 1024, 0x5a);
    for (let left = pad - 8; left > 0; left -= chunk.length) await fh.write(chunk.subarray(0, Math.min(left, chunk.length)));
  } finally {
    await fh.close();
  }
}

export async function prepareMedia(dir: string, fixtures: string): Promise<BenchMedia> {
  await fs.mkdir(dir, { recursive: true });
  const cached = async (name: string, make: () => Promise<Buffer>) => {
    const file = path.join(dir, name);
    if (existsSync(file)) return fs.readFile(file);
    const bytes = await make();
    await fs.writeFile(file, bytes);
    return bytes;
  };
  const photo200k = await cached('photo-200k.jpg', () => photoNear(200_000, 88));
  const photo50k = await cached('photo-50k.jpg', () => photoNear(50_000, 85));
  await cached('photo-12mp.jpg', () => photoLike(4000, 3000, 88));
  const video20m = path.join(dir, 'video-20m.mp4');
  const video1g = path.join(dir, 'video-1g.mp4');
  await paddedMp4(path.join(fixtures, 'clip.mp4'), video20m, 20 * 1024 * 1024);
  await paddedMp4(path.join(fixtures, 'clip.mp4'), video1g, 1024 ** 3);
  return { photo200k, photo50k, photo12mp: path.join(dir, 'photo-12mp.jpg'), video20m, video1g };
}

/** The JPEG with a fixed-width counter in a COM segment after SOI: distinct bytes every upload. */
export function distinctJpeg(jpeg: Buffer, n: number): Buffer {
  const text = Buffer.from(`bench-${String(n).padStart(12, '0')}`);
  const seg = Buffer.alloc(4);
  seg.writeUInt16BE(0xfffe, 0);
  seg.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, text, jpeg.subarray(2)]);
}
