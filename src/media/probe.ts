/**
 * Reads the local temporary file of an upload (already sniffed) and says what it shows: displayed
 * size, duration, orientation — or a typed corrupt / too-many-pixels error. Images go through
 * sharp (BMP, which prebuilt sharp cannot read, through its header); videos through mediainfo.js.
 */
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import mediaInfoFactory, {
  isTrackType,
  type GeneralTrack,
  type MediaInfo,
  type MediaInfoResult,
  type VideoTrack,
} from 'mediainfo.js';
import sharp from 'sharp';
import { errors, SOUND_ONLY } from '../errors.js';
import { readJpegHeader } from './jpeg-header.js';
import type { FileHead, MediaFormat, ProbeResult } from './types.js';

export interface MediaProbe {
  /** `head` (the file's first bytes, kept by the receive pass) spares a re-open when the header is in it. */
  probe(path: string, format: MediaFormat, head?: FileHead): Promise<ProbeResult>;
  /** Releases the WASM instance; waits for queued video probes first. */
  close(): Promise<void>;
}

export interface MediaProbeOptions {
  /**
   * Bounds the area of ONE frame (width × height), checked from the header before any decode.
   * Animated images are not multiplied by their frame count: a frame is the unit a decoder holds,
   * and whoever decodes every frame (the transformer) must bound the total itself. Videos are not
   * limited: we never decode them.
   */
  maxPixels: number;
  /**
   * Also decode each image to a thumbnail, proving its data is whole (not just its header). Off by
   * default: ingest's streaming structure check catches truncation and bad CRCs without decoding,
   * and this costs 50–400 ms on a 12 MP image (measured: JPEG ~60, PNG ~120, WebP ~400).
   */
  checkImageData?: boolean;
}

export function createMediaProbe(options: MediaProbeOptions): MediaProbe {
  const videos = new VideoProber();
  return {
    probe: (path, format, head) =>
      format.kind === 'video' ? videos.probe(path, format) : probeImage(path, format, options, head),
    close: () => videos.close(),
  };
}

/**
 * Formats whose metadata (size and orientation included) all comes before the pixel data: JPEG
 * (APPn segments before SOF/SOS) and PNG (eXIf, like every ancillary chunk sharp reads, before
 * IDAT). A WebP's EXIF comes after its bitstream, and GIF's frame count needs the whole file.
 */
const HEADER_FIRST = new Set(['image/jpeg', 'image/png']);

type HeaderFacts = { width?: number; height?: number; orientation?: number; autoOrient: { width: number; height: number } };

/**
 * The header's facts: a common JPEG's from JS (jpeg-header.ts); otherwise sharp's header read,
 * from the kept head when it holds the header, else (or when that fails) the file.
 */
async function readMetadata(path: string, format: MediaFormat, head: FileHead | undefined): Promise<HeaderFacts> {
  const jpeg = format.mimeType === 'image/jpeg' && head !== undefined ? readJpegHeader(head.bytes) : null;
  if (jpeg !== null) {
    const { width, height, orientation } = jpeg;
    return { width, height, orientation, autoOrient: orientation >= 5 ? { width: height, height: width } : { width, height } };
  }
  // limitInputPixels: false so a huge header still yields its size: we refuse it ourselves, by name.
  const fromFile = () =>
    sharp(path, { limitInputPixels: false })
      .metadata()
      .catch(() => Promise.reject(errors.corruptMedia(`unreadable ${format.ext} header`)));
  if (head === undefined || !(head.complete || HEADER_FIRST.has(format.mimeType))) return fromFile();
  // A cut-off head (e.g. a JPEG whose EXIF/ICC pushes its SOF past it) fails here, not silently.
  return sharp(head.bytes, { limitInputPixels: false }).metadata().catch(fromFile);
}

async function probeImage(path: string, format: MediaFormat, options: MediaProbeOptions, head?: FileHead): Promise<ProbeResult> {
  const { maxPixels } = options;
  if (format.mimeType === 'image/bmp') return probeBmp(path, format, options);
  const meta = await readMetadata(path, format, head);
  const { width, height } = meta;
  if (!width || !height) throw errors.corruptMedia('no image dimensions');
  if (width * height > maxPixels) throw errors.tooManyPixels(width, height, maxPixels);
  // HEIC is store-only (see sniff.ts): sharp cannot decode HEVC, so its pixels are never checked.
  if (options.checkImageData && format.mimeType !== 'image/heic') await checkDecodes(path, maxPixels);
  const orientation = meta.orientation && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  return { ...format, ...meta.autoOrient, durationMs: null, orientation };
}

/**
 * A header can be fine over broken data (truncated uploads, flipped bytes). Decoding to a thumbnail
 * reads all the compressed data (first frame only) while keeping memory small. `failOn: 'error'`
 * refuses real damage but not the harmless warnings many camera JPEGs carry.
 */
async function checkDecodes(path: string, maxPixels: number): Promise<void> {
  try {
    await sharp(path, { failOn: 'error', limitInputPixels: maxPixels })
      .resize(64, 64, { fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer();
  } catch (err) {
    // libvips messages can name the temp path: keep only what it says about the data.
    const truncated = /premature end|truncat|unexpected end|short read/i.test(String(err));
    throw errors.corruptMedia(truncated ? 'the image data ends early' : 'the image data does not decode');
  }
}

/** BMP: BITMAPFILEHEADER (14 bytes) + a DIB header; old OS/2 core headers use 16-bit sizes. */
async function probeBmp(path: string, format: MediaFormat, options: MediaProbeOptions): Promise<ProbeResult> {
  const { maxPixels, checkImageData } = options;
  const file = await open(path, 'r');
  const head = Buffer.alloc(34);
  const [{ bytesRead }, { size }] = await Promise.all([file.read(head, 0, 34, 0), file.stat()]).finally(() =>
    file.close(),
  );
  if (bytesRead < 26) throw errors.corruptMedia('BMP header cut short');
  const dataOffset = head.readUInt32LE(10);
  const core = head.readUInt32LE(14) === 12;
  const width = core ? head.readUInt16LE(18) : head.readInt32LE(18);
  const height = Math.abs(core ? head.readUInt16LE(20) : head.readInt32LE(22)); // negative = top-down
  const bitsPerPixel = core ? head.readUInt16LE(24) : head.readUInt16LE(28);
  const compression = core || bytesRead < 34 ? 0 : head.readUInt32LE(30);
  if (width <= 0 || height <= 0) throw errors.corruptMedia('no image dimensions');
  if (width * height > maxPixels) throw errors.tooManyPixels(width, height, maxPixels);
  // Uncompressed rows are padded to 4 bytes, so a cut-off file is visible from its size alone.
  const uncompressed = compression === 0 || compression === 3;
  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  if (checkImageData && (size < dataOffset || (uncompressed && size < dataOffset + rowBytes * height))) {
    throw errors.corruptMedia('the image data ends early');
  }
  return { ...format, width, height, durationMs: null, orientation: 1 };
}

/**
 * One mediainfo.js instance, created on first use and reused (instantiating the WASM costs far
 * more than a probe). An instance holds one analysis's state, so calls are serialised through a
 * promise chain; probes take milliseconds, so a queue beats a pool here.
 */
class VideoProber {
  private instance: Promise<MediaInfo<'object'>> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  probe(path: string, format: MediaFormat): Promise<ProbeResult> {
    if (this.closed) return Promise.reject(new Error('MediaProbe is closed'));
    const run = this.queue.then(() => this.analyse(path)).then((result) => readVideo(result, format));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const instance = this.instance;
    this.instance = undefined;
    if (instance) (await instance.catch(() => undefined))?.close();
  }

  private async analyse(path: string): Promise<MediaInfoResult> {
    // The default locateFile guesses the .wasm from the module URL, which breaks once bundled; the
    // package exports the file, so resolve it like a module (works under tsx and compiled).
    this.instance ??= mediaInfoFactory({
      format: 'object',
      locateFile: () => createRequire(import.meta.url).resolve('mediainfo.js/MediaInfoModule.wasm'),
    }).catch((err: unknown) => {
      this.instance = undefined; // a failed load is retried by the next probe, not cached
      throw err;
    });
    const mediaInfo = await this.instance;
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      // Read only the ranges mediainfo asks for: a video is never held in memory whole.
      return await mediaInfo.analyzeData(size, async (length, offset) => {
        const chunk = Buffer.allocUnsafe(length);
        const { bytesRead } = await file.read(chunk, 0, length, offset);
        return chunk.subarray(0, bytesRead);
      });
    } catch (err) {
      // A WASM abort can leave the instance unusable: drop it, the next probe makes a fresh one.
      this.instance = undefined;
      mediaInfo.close();
      throw err;
    } finally {
      await file.close();
    }
  }
}

function readVideo(result: MediaInfoResult, format: MediaFormat): ProbeResult {
  const tracks = result.media?.track ?? [];
  const general = tracks.find((t): t is GeneralTrack => isTrackType(t, 'General'));
  // A faststart MP4 cut inside mdat still has a complete moov; only this flag tells.
  if (general?.extra?.['IsTruncated'] === 'Yes') throw errors.corruptMedia('the video ends early');
  const video = tracks.find((t): t is VideoTrack => isTrackType(t, 'Video'));
  // A podcast or song in a video container is whole, just not a video: say so, not "corrupt".
  if (!video && tracks.some((t) => isTrackType(t, 'Audio'))) throw errors.unsupportedMedia(`${format.mimeType} with ${SOUND_ONLY}`);
  if (!video) throw errors.corruptMedia('no video track');
  const { Width: storedWidth, Height: storedHeight, PixelAspectRatio: par } = video;
  if (!storedWidth || !storedHeight) throw errors.corruptMedia('the video track has no dimensions');
  const { width, height } = naturalSize(storedWidth, storedHeight, par);
  const orientation = normaliseRotation(video.Rotation);
  const turned = orientation === 90 || orientation === 270;
  // The picture's own duration: the container's can be longer by audio priming/padding (Opus, AAC).
  const seconds = video.Duration ?? general?.Duration;
  return {
    ...format,
    width: turned ? height : width,
    height: turned ? width : height,
    durationMs: seconds !== undefined && Number.isFinite(seconds) ? Math.round(seconds * 1000) : null,
    orientation,
  };
}

/**
 * Anamorphic video (non-square pixels) is shown as browsers report videoWidth × videoHeight: they
 * never shrink a side, so wide pixels stretch the width and narrow ones the height (Chromium's
 * VideoAspectRatio::GetNaturalSize, Firefox's ScaleDisplayByAspectRatio). ffmpeg.ts scales poster
 * frames by the same rule.
 */
export function naturalSize(width: number, height: number, par: number | undefined): { width: number; height: number } {
  if (!par || !Number.isFinite(par) || Math.abs(par - 1) <= 0.01) return { width, height };
  return par > 1 ? { width: Math.round(width * par), height } : { width, height: Math.round(height / par) };
}

/**
 * mediainfo gives the clockwise turn needed for display as a decimal string ("90.000"; the
 * iPhone-portrait matrix). ffprobe's display-matrix convention is counter-clockwise (it says -90
 * for the same file). We keep mediainfo's clockwise sense, snapped to a right angle in 0..270.
 */
export function normaliseRotation(rotation: string | undefined): 0 | 90 | 180 | 270 {
  const degrees = Number.parseFloat(rotation ?? '0');
  if (!Number.isFinite(degrees)) return 0;
  return ((((Math.round(degrees / 90) * 90) % 360) + 360) % 360) as 0 | 90 | 180 | 270;
}
