/**
 * The one place that runs sharp on stored images, behind the guards a public resizer needs:
 * a source pixel limit, an output size cap, a concurrency cap with a bounded queue (503 past it),
 * and a per-transform timeout. Every derivative is auto-oriented, sRGB, and carries no metadata.
 */
import sharp from 'sharp';
import { errors } from '../errors.js';
import { Limiter } from './limiter.js';
import type { Geometry, OutputFormat } from './variant-spec.js';

export interface TransformerOptions {
  /** Source area limit (of all frames, when kept animated); the same as the upload limit. */
  maxPixels: number;
  /** Largest output side. */
  maxDimension: number;
  /** Transforms running at once; more wait in the queue. */
  concurrency: number;
  /** Transforms waiting for a slot; past this, 503. */
  queueLimit: number;
  timeoutMs: number;
}

/** A transform that ran out of time. Its slot is held until libvips actually stops (sharp's own timeout). */
export class TransformTimeout extends Error {
  constructor() {
    super('transform timed out');
    this.name = 'TransformTimeout';
  }
}

export interface TransformResult {
  bytes: Buffer;
  width: number;
  height: number;
  /** Whether every frame was kept (GIF/WebP output of an animated source). */
  animated: boolean;
}

/** Formats that can carry animation; AVIF, JPEG and PNG get the first frame (documented in README). */
const ANIMATABLE: ReadonlySet<OutputFormat> = new Set(['gif', 'webp']);

/**
 * Sources whose pages are frames of an animation. A multi-page TIFF (a scan, a fax) is a document:
 * its pages may differ in size, which libvips refuses to load as frames, and even same-size pages
 * are not meant to flip past as an animated WebP. It gets its first page, like a JPEG output.
 */
const ANIMATED_SOURCES: ReadonlySet<string | undefined> = new Set(['gif', 'webp']);

/** Upper bound of the output size, for the cap check before any pixel is decoded. */
export function outputSize(srcW: number, srcH: number, g: Geometry): { width: number; height: number } {
  const { width: w, height: h } = g;
  const limit = (scale: number) => (g.enlarge ? scale : Math.min(scale, 1));
  if (w === null && h === null) return { width: srcW, height: srcH };
  if (w !== null && h !== null) {
    if (g.fit === 'inside' || g.fit === 'outside') {
      const s = limit(g.fit === 'inside' ? Math.min(w / srcW, h / srcH) : Math.max(w / srcW, h / srcH));
      return { width: Math.round(srcW * s), height: Math.round(srcH * s) };
    }
    return { width: w, height: h };
  }
  const s = limit(w !== null ? w / srcW : (h as number) / srcH);
  return { width: Math.max(1, Math.round(srcW * s)), height: Math.max(1, Math.round(srcH * s)) };
}

export class ImageTransformer {
  private readonly limiter: Limiter;
  /** How many transforms actually ran (cache hits and coalesced requests do not count). */
  transforms = 0;

  constructor(private readonly options: TransformerOptions) {
    this.limiter = new Limiter(options.concurrency, options.queueLimit);
  }

  transform(source: Buffer, g: Geometry, format: OutputFormat): Promise<TransformResult> {
    return this.limiter.run(async () => {
      const { maxPixels, maxDimension, timeoutMs } = this.options;
      const meta = await sharp(source, { limitInputPixels: false }).metadata();
      const srcW = meta.autoOrient.width;
      const srcH = meta.autoOrient.height;
      if (!srcW || !srcH) throw errors.corruptMedia('no image dimensions');
      if (srcW * srcH > maxPixels) throw errors.tooManyPixels(srcW, srcH, maxPixels);
      const out = outputSize(srcW, srcH, g);
      if (out.width > maxDimension || out.height > maxDimension) {
        throw errors.derivativeTooLarge(out.width, out.height, maxDimension);
      }
      // Keep every frame only when the output can animate and all frames together stay within the limit.
      const pages = meta.pages ?? 1;
      const animated =
        ANIMATABLE.has(format) && ANIMATED_SOURCES.has(meta.format) && pages > 1 && srcW * srcH * pages <= maxPixels;
      let p = sharp(source, { limitInputPixels: maxPixels, failOn: 'error', animated })
        .timeout({ seconds: Math.max(1, Math.ceil(timeoutMs / 1000)) })
        .autoOrient();
      if (g.width !== null || g.height !== null) {
        p = p.resize({
          width: g.width ?? undefined,
          height: g.height ?? undefined,
          fit: g.fit,
          withoutEnlargement: !g.enlarge,
        });
      }
      // sharp writes no EXIF/XMP/GPS/ICC unless asked: the derivative carries pixels only, in sRGB.
      p = p.toColourspace('srgb');
      // JPEG has no alpha and libvips would drop it onto black: a product cut-out (transparent PNG,
      // TIFF with alpha) would sit on a black square. White is what the storefront page shows.
      if (format === 'jpeg' && meta.hasAlpha) p = p.flatten({ background: '#ffffff' });
      const q = g.quality ?? undefined;
      if (format === 'jpeg') p = p.jpeg({ quality: q ?? 80, mozjpeg: false });
      else if (format === 'webp') p = p.webp({ quality: q ?? 80, effort: 4 });
      else if (format === 'avif') p = p.avif({ quality: q ?? 50, effort: 2 });
      else if (format === 'png') p = p.png({ compressionLevel: 6 });
      else p = p.gif();
      this.transforms++;
      const work = p.toBuffer({ resolveWithObject: true });
      // The slot stays held until libvips stops; the caller hears of the timeout at its deadline.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TransformTimeout()), timeoutMs);
      });
      try {
        const { data, info } = await Promise.race([work, deadline]);
        return { bytes: data, width: info.width, height: info.pageHeight ?? info.height, animated };
      } catch (err) {
        if (err instanceof TransformTimeout) await work.catch(() => undefined);
        else if (/timeout/i.test(String(err))) throw new TransformTimeout();
        throw err;
      } finally {
        clearTimeout(timer);
      }
    });
  }
}
