/**
 * Video frames through ffmpeg, an external runtime dependency found on PATH or at AMS_FFMPEG_PATH
 * (as Immich and PeerTube use it): no npm package decodes video. It is checked once at start-up
 * (`ffmpeg -version`, bounded); when it cannot run, the service works without posters.
 *
 * Every run is bounded: a concurrency cap with a bounded queue, a timeout that kills the child,
 * a cap on the bytes read back, no stdin, and a demuxer forced from the sniffed type with only the
 * `file` protocol allowed — so a crafted upload (e.g. an AVI carrying an HLS playlist, the classic
 * ffmpeg SSRF / local-file trick) cannot make ffmpeg open a URL or another file.
 */
import { spawn } from 'node:child_process';
import { errors } from '../errors.js';
import { Limiter } from './limiter.js';
import { TransformTimeout } from './transform.js';

export interface FrameExtractorOptions {
  ffmpegPath: string;
  /** Budget of one ffmpeg run (the child is killed past it). */
  timeoutMs: number;
  concurrency: number;
  queueLimit: number;
  /** Largest frame, in bytes of PNG, read back (a PNG is at most ~3 bytes a pixel plus framing). */
  maxFrameBytes: number;
}

/** Where a video is read from: a file on this disk, or a URL answering range requests. */
export type VideoSource = { file: string } | { url: string };

function httpUrl(url: string): string {
  const protocol = new URL(url).protocol;
  if (protocol !== 'http:' && protocol !== 'https:') throw new Error(`not an http(s) URL: ${protocol}`);
  return url;
}

export type FfmpegStatus = { usable: true; version: string } | { usable: false; reason: string };

/** The demuxer for each video type we accept: never left to ffmpeg's probing (see above). */
const DEMUXER: Readonly<Record<string, string>> = {
  'video/mp4': 'mov',
  'video/quicktime': 'mov',
  'video/3gpp': 'mov',
  'video/3gpp2': 'mov',
  'video/webm': 'matroska',
  'video/x-matroska': 'matroska',
  'video/x-msvideo': 'avi',
};

interface RunResult {
  code: number | null;
  stdout: Buffer;
  /** The end of stderr, for the error message. */
  stderr: string;
}

export class FrameExtractor {
  private readonly limiter: Limiter;
  private readonly children = new Set<ReturnType<typeof spawn>>();
  /** Settles once the start-up check is done; posters wait for it (it is never rejected). */
  readonly status: Promise<FfmpegStatus>;

  constructor(private readonly options: FrameExtractorOptions) {
    this.limiter = new Limiter(options.concurrency, options.queueLimit);
    // Started now, not awaited: the check costs ~0.1 s and must not delay listening.
    this.status = this.run(['-hide_banner', '-version'], 5000, 4096).then(
      (r): FfmpegStatus =>
        r.code === 0
          ? { usable: true, version: r.stdout.toString('utf8').split('\n')[0] ?? '' }
          : { usable: false, reason: `exit code ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}` },
      (err: Error): FfmpegStatus => ({ usable: false, reason: err instanceof TransformTimeout ? 'no answer to -version' : err.message }),
    );
  }

  get ffmpegPath(): string {
    return this.options.ffmpegPath;
  }

  /**
   * The displayed frame at `atMs` of a video (rotation applied: ffmpeg autorotates), as PNG. Past
   * the last frame ffmpeg finds nothing: then the first frame is taken. The video is a local file,
   * or an http(s) URL that answers range requests (ffmpeg then reads only the parts it needs).
   */
  async frameAt(source: VideoSource, mimeType: string, atMs: number): Promise<Buffer> {
    const status = await this.status;
    if (!status.usable) throw errors.ffmpegUnavailable(this.options.ffmpegPath);
    const demuxer = DEMUXER[mimeType];
    if (demuxer === undefined) throw errors.posterFailed(`${mimeType} is not a video type ffmpeg is asked to read`);
    return this.limiter.run(async () => {
      let result = await this.extract(source, demuxer, atMs);
      if (result.code === 0 && result.stdout.length === 0 && atMs > 0) result = await this.extract(source, demuxer, 0);
      if (result.code !== 0 || result.stdout.length === 0) {
        const why = result.stderr.trim().split('\n')[0]?.replace(/^\[[^\]]*\]\s*/, '') || 'no video frame';
        throw errors.posterFailed(why);
      }
      return result.stdout;
    });
  }

  /** Kills every ffmpeg still running (on shutdown); their requests fail, nothing is cached. */
  close(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }

  private extract(source: VideoSource, demuxer: string, atMs: number): Promise<RunResult> {
    const input =
      'file' in source
        ? ['-protocol_whitelist', 'file', '-i', `file:${source.file}`]
        : // A URL: only http(s) (the demuxer cannot be talked into opening local files), and a
          // stalled connection fails the run instead of waiting for the overall timeout.
          ['-protocol_whitelist', 'http,https,tcp,tls', '-rw_timeout', String(this.options.timeoutMs * 1000), '-i', httpUrl(source.url)];
    const args = [
      '-nostdin', '-hide_banner', '-loglevel', 'error',
      // Input options: the demuxer we sniffed, one decoding thread per run (the limiter then
      // bounds the CPU), and a fast keyframe seek followed by exact decoding.
      '-f', demuxer, '-threads', '1', '-ss', (atMs / 1000).toFixed(3),
      ...input,
      '-map', '0:v:0', '-frames:v', '1', '-an', '-sn', '-dn',
      // Square the pixels of anamorphic video the way the probe sizes it (probe.ts naturalSize):
      // the side the pixel shape stretches grows, none shrinks. Applied after ffmpeg's autorotate,
      // which turns the pixel shape with the picture, so the same rule holds for rotated clips.
      '-vf', `scale='if(gte(sar,1),round(iw*sar),iw)':'if(gte(sar,1),ih,round(ih/sar))',setsar=1`,
      // Lossless and cheap to encode: sharp makes the real output from it.
      '-f', 'image2pipe', '-c:v', 'png', '-compression_level', '1', '-pix_fmt', 'rgb24', 'pipe:1',
    ];
    return this.run(args, this.options.timeoutMs, this.options.maxFrameBytes);
  }

  /** Runs ffmpeg; rejects with TransformTimeout (child killed) past `timeoutMs`, or on a spawn error. */
  private run(args: string[], timeoutMs: number, maxStdout: number): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.add(child);
      const out: Buffer[] = [];
      let outBytes = 0;
      let err = '';
      let failure: Error | null = null;
      const stop = (e: Error) => {
        failure ??= e;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(() => stop(new TransformTimeout()), timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes > maxStdout) stop(errors.posterFailed(`the frame is larger than ${maxStdout} bytes`));
        else out.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        err = (err + chunk.toString('utf8')).slice(-2048);
      });
      child.on('error', (e) => {
        failure ??= e;
      });
      // 'close' comes after 'error' too, and only once both pipes are drained.
      child.on('close', (code) => {
        clearTimeout(timer);
        this.children.delete(child);
        if (failure) reject(failure);
        else resolve({ code, stdout: Buffer.concat(out), stderr: err });
      });
    });
  }
}
