/**
 * Placeholders a storefront can paint before the image arrives: a ThumbHash (~25 bytes, base64;
 * decodes to a blurred preview with aspect ratio and alpha) and a dominant colour. Computed once at
 * upload from the local temp file, so serving them costs nothing.
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

const hex = (n: number) => Math.round(n).toString(16).padStart(2, '0');

/**
 * ThumbHash wants at most 100x100 pixels. JPEG shrink-on-load makes this cheap even for 12 MP
 * photos; the first frame stands for an animation. Returns null when the pixels do not decode:
 * the upload's structure is already checked, and a missing placeholder must not refuse a file.
 */
export async function computePlaceholders(path: string, mimeType: string): Promise<Placeholders | null> {
  if (!mimeType.startsWith('image/') || UNDECODABLE.has(mimeType)) return null;
  try {
    const { data, info } = await sharp(path, { limitInputPixels: false, failOn: 'none' })
      .autoOrient()
      .resize(100, 100, { fit: 'inside' })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const thumbhash = Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
    const { dominant } = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).stats();
    return { thumbhash, dominantColor: `#${hex(dominant.r)}${hex(dominant.g)}${hex(dominant.b)}` };
  } catch {
    return null;
  }
}
