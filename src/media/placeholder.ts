/**
 * Placeholders a storefront can paint before the image arrives: a ThumbHash (~25 bytes, base64;
 * decodes to a blurred preview with aspect ratio and alpha) and a dominant colour. Computed once per
 * asset, in the background after its upload (ingest/placeholder-queue.ts): making them decodes the
 * image (fully for PNG/WebP), which the upload itself never does.
 */
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

export interface Placeholders {
  thumbhash: string;
  /** `#rrggbb`, sRGB. */
  dominantColor: string;
}

/** Formats sharp cannot decode here (see sniff.ts): no placeholder rather than a failed upload. */
const UNDECODABLE = new Set(['image/heic', 'image/bmp']);

/** Whether placeholders can be made for this MIME type at all. */
export function placeholdersPossible(mimeType: string): boolean {
  return mimeType.startsWith('image/') && !UNDECODABLE.has(mimeType);
}

const hex = (n: number) => Math.round(n).toString(16).padStart(2, '0');

/**
 * The most common colour of an RGBA thumbnail: pixels binned 16 levels a channel (4096 bins, as
 * sharp's stats() does), transparent ones ignored, the winning bin's mean returned. Done in JS on
 * ≤ 10,000 pixels rather than as a second sharp call: uploads should not queue twice for libuv.
 */
export function dominantColor(rgba: Uint8Array | Buffer): string {
  const count = new Uint32Array(4096);
  const sum = new Float64Array(4096 * 3);
  for (let i = 0; i + 3 < rgba.length; i += 4) {
    if ((rgba[i + 3] ?? 0) < 128) continue;
    const [r, g, b] = [rgba[i] ?? 0, rgba[i + 1] ?? 0, rgba[i + 2] ?? 0];
    const bin = ((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4);
    count[bin] = (count[bin] ?? 0) + 1;
    sum[bin * 3] = (sum[bin * 3] ?? 0) + r;
    sum[bin * 3 + 1] = (sum[bin * 3 + 1] ?? 0) + g;
    sum[bin * 3 + 2] = (sum[bin * 3 + 2] ?? 0) + b;
  }
  let best = 0;
  for (let bin = 1; bin < 4096; bin++) if ((count[bin] ?? 0) > (count[best] ?? 0)) best = bin;
  const n = count[best] || 1;
  return `#${hex((sum[best * 3] ?? 0) / n)}${hex((sum[best * 3 + 1] ?? 0) / n)}${hex((sum[best * 3 + 2] ?? 0) / n)}`;
}

/**
 * ThumbHash wants at most 100x100 pixels. JPEG shrink-on-load makes this cheap even for 12 MP
 * photos; the first frame stands for an animation. Returns null when the pixels do not decode:
 * the upload's structure is already checked, and a missing placeholder must not refuse a file.
 */
export async function computePlaceholders(image: Buffer, mimeType: string): Promise<Placeholders | null> {
  if (!placeholdersPossible(mimeType)) return null;
  try {
    const { data, info } = await sharp(image, { limitInputPixels: false, failOn: 'none' })
      .autoOrient()
      .resize(100, 100, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const thumbhash = Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
    return { thumbhash, dominantColor: dominantColor(data) };
  } catch {
    return null;
  }
}
