/**
 * The derivative URL grammar: parse `?width=…&format=…` into a spec, and write the spec back as
 * ONE canonical query string, so equal requests share one URL, one blob and one CDN entry.
 * Pure (no I/O): every rule here is a table test in test/unit/variant-spec.test.ts.
 */
import { errors } from '../errors.js';

export const FITS = ['cover', 'contain', 'inside', 'outside', 'fill'] as const;
export type Fit = (typeof FITS)[number];
export const FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif'] as const;
export type OutputFormat = (typeof FORMATS)[number];
/** What `format=` accepts (gif is only ever kept, never asked for: it is how an animated GIF stays a GIF). */
export const REQUESTABLE_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'auto'] as const;
export const PARAMS = ['width', 'height', 'fit', 'format', 'quality', 'dpr', 'preset', 'enlarge'] as const;

/** The geometry and encoding of one derivative: everything that changes its bytes except the format. */
export interface Geometry {
  width: number | null;
  height: number | null;
  fit: Fit;
  /** null = the format's default (DEFAULT_QUALITY). */
  quality: number | null;
  /** Upscaling happens only when asked for. */
  enlarge: boolean;
  /** Video posters only: the frame's time in seconds (ms precision); null/absent = the default frame. */
  time?: number | null;
}

export interface VariantRequest extends Geometry {
  /** null = keep the source's format (see defaultFormat). */
  format: OutputFormat | 'auto' | null;
  /** The `sig` parameter, if any (checked by url-signing.ts against the canonical form). */
  sig: string | null;
}

export interface VariantRules {
  /** Named parameter sets, each a query string, e.g. thumb → `width=240&height=240&fit=cover`. */
  presets: Readonly<Record<string, string>>;
  /** Largest width or height a derivative may ask for, after dpr. */
  maxDimension: number;
}

export const DEFAULT_QUALITY: Record<OutputFormat, number | null> = { jpeg: 80, webp: 80, avif: 50, png: null, gif: null };
export const EXT_OF: Record<OutputFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', gif: 'gif' };
export const MIME_OF: Record<OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
};

type Query = Record<string, unknown>;

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw errors.invalidParameter(name, String(v), 'the parameter once');
  return v;
}

function number(query: Query, name: string, min: number, max: number, integer: boolean, decimal = /^\d{1,2}(\.\d{1,3})?$/): number | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  const pattern = integer ? /^\d{1,6}$/ : decimal;
  const n = Number(v);
  if (!pattern.test(v) || n < min || n > max) {
    throw errors.invalidParameter(name, v, `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

function oneOf<T extends string>(query: Query, name: string, allowed: readonly T[]): T | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw errors.invalidParameter(name, v, `one of ${allowed.join(', ')}`);
  return v as T;
}

/** Other image services' names for our parameters: refused with ours, never silently ignored. */
const FOREIGN_NAMES: Readonly<Record<string, string>> = {
  w: 'width',
  h: 'height',
  q: 'quality',
  fm: 'format',
  fmt: 'format',
  size: 'width and height',
  resize: 'width and height',
  crop: 'fit',
};

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment): widht → width is 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * What to tell a client about a parameter that is not one of `params`, or null to ignore it.
 * Storefronts add cache-busters (`v=3`) and share links with trackers (`utm_source=…`, `fbclid=…`):
 * a 400 for those broke images that were fine. What looks like a try at one of ours is refused, so a
 * typo never silently serves the original: a parameter of ours not taken here (`time` on an image),
 * another service's name (`w=`), or a near miss (`widht=`, `Width=`; one edit for names of up to
 * four letters, two for longer ones).
 */
export function unknownParameterHint(name: string, params: readonly string[]): string | null {
  if (name === 'time' || (PARAMS as readonly string[]).includes(name)) return `only the parameters ${params.join(', ')}`;
  const lower = name.toLowerCase();
  const foreign = FOREIGN_NAMES[lower];
  if (foreign !== undefined) return `${foreign} instead (the parameters are ${params.join(', ')})`;
  const near = params.find((p) => editDistance(lower, p) <= (p.length <= 4 ? 1 : 2));
  return near === undefined ? null : `${near} instead (the parameters are ${params.join(', ')})`;
}

/**
 * Parses a derivative query. Explicit parameters override a preset's; dpr multiplies width and height.
 * `time` (seconds) is accepted only for video posters (`allowTime`). Other parameters are ignored
 * (they are left out of the canonical URL) unless they look like a mistake: see unknownParameterHint.
 */
export function parseVariantQuery(query: Query, rules: VariantRules, allowPreset = true, allowTime = false): VariantRequest {
  const params: readonly string[] = allowTime ? [...PARAMS, 'time'] : PARAMS;
  for (const name of Object.keys(query)) {
    if (name === 'sig' || params.includes(name)) continue;
    const hint = unknownParameterHint(name, params);
    if (hint !== null) throw errors.invalidParameter(name, String(query[name]), hint);
  }
  let base: Query = {};
  const presetName = allowPreset ? oneOf(query, 'preset', Object.keys(rules.presets)) : undefined;
  if (presetName !== undefined) base = Object.fromEntries(new URLSearchParams(rules.presets[presetName]));
  const merged: Query = { ...base, ...query };
  // dpr scales the CSS size the page asks for into device pixels; it is then folded away.
  const dpr = number(query, 'dpr', 1, 4, false) ?? 1;
  const max = rules.maxDimension;
  const dimension = (name: 'width' | 'height') => {
    const css = number(merged, name, 1, max, true);
    if (css === undefined) return null;
    const px = Math.round(css * dpr);
    if (px > max) throw errors.invalidParameter(name, `${css} at dpr ${dpr}`, `at most ${max} pixels after dpr`);
    return px;
  };
  const width = dimension('width');
  const height = dimension('height');
  const enlargeRaw = oneOf(merged, 'enlarge', ['true', 'false', '1', '0']);
  return {
    width,
    height,
    fit: oneOf(merged, 'fit', FITS) ?? 'cover',
    quality: number(merged, 'quality', 1, 100, true) ?? null,
    enlarge: enlargeRaw === 'true' || enlargeRaw === '1',
    format: oneOf(merged, 'format', REQUESTABLE_FORMATS) ?? null,
    sig: single(query, 'sig') ?? null,
    ...(allowTime ? { time: number(query, 'time', 0, MAX_TIME_S, false, /^\d{1,5}(\.\d{1,3})?$/) ?? null } : {}),
  };
}

/** A day: longer than any product video, and a bound on the digits a time may have. */
const MAX_TIME_S = 86_400;

/**
 * The time of a video's poster frame, in ms. An asked-for time is clamped to the duration (a frame
 * past the end does not exist: ffmpeg then takes the first). The default skips the first tenth
 * (fade-ins, black leaders) of videos of 2 s or more; shorter clips show their first frame.
 */
export function posterTimeMs(durationMs: number | null, askedS: number | null | undefined): number {
  if (askedS !== null && askedS !== undefined) {
    const ms = Math.round(askedS * 1000);
    return durationMs === null ? ms : Math.min(ms, durationMs);
  }
  if (durationMs === null || durationMs < 2000) return 0;
  return Math.round(durationMs / 10);
}

/**
 * The canonical query of a derivative in `format`: fixed order, defaults left out, and parameters
 * that cannot change the bytes dropped (fit needs both sides; PNG and GIF have no quality).
 */
export function canonicalQuery(g: Geometry, format: OutputFormat | 'auto' | null): string {
  const parts: string[] = [];
  // The frame first: it is what a poster URL is about. String() writes 1.5 as "1.5", 2.000 as "2".
  if (g.time !== null && g.time !== undefined) parts.push(`time=${String(g.time)}`);
  if (g.width !== null) parts.push(`width=${g.width}`);
  if (g.height !== null) parts.push(`height=${g.height}`);
  if (g.width !== null && g.height !== null && g.fit !== 'cover') parts.push(`fit=${g.fit}`);
  const lossy = format === null || format === 'auto' || DEFAULT_QUALITY[format] !== null;
  const isDefault = format !== null && format !== 'auto' && g.quality === DEFAULT_QUALITY[format];
  if (g.quality !== null && lossy && !isDefault) parts.push(`quality=${g.quality}`);
  if (g.enlarge && (g.width !== null || g.height !== null)) parts.push('enlarge=true');
  return parts.join('&');
}

/**
 * One URL per result: without `enlarge`, a single side larger than the source's (displayed) size
 * gives the source's size — `width=1000` of a 640 px photo is the same 640 px image as
 * `width=640` — so it is written as that. With both sides the fit decides the result: left alone.
 */
export function fitToSource<G extends Geometry>(g: G, sourceWidth: number, sourceHeight: number): G {
  if (g.enlarge) return g;
  if (g.width !== null && g.height === null && g.width > sourceWidth) return { ...g, width: sourceWidth };
  if (g.height !== null && g.width === null && g.height > sourceHeight) return { ...g, height: sourceHeight };
  return g;
}

/** The canonical query of the redirecting form `/images/{id}?…`, where the format is still a parameter. */
export function entryQuery(g: Geometry, format: OutputFormat | 'auto' | null): string {
  return [canonicalQuery(g, format), format === null ? '' : `format=${format}`].filter((s) => s !== '').join('&');
}

/** The output format when none is asked for: the source's own, or JPEG for TIFF (browsers cannot show it). */
export function defaultFormat(sourceMime: string): OutputFormat {
  const own = FORMATS.find((f) => MIME_OF[f] === sourceMime);
  return own ?? 'jpeg';
}

/** Output format from an `.ext` in the path (`jpg` and `jpeg` both mean JPEG), or null. */
export function formatOfExt(ext: string): OutputFormat | null {
  const e = ext.toLowerCase();
  if (e === 'jpeg') return 'jpeg';
  return FORMATS.find((f) => EXT_OF[f] === e) ?? null;
}

/** Does the Accept header take `type`? Only an explicit entry counts (`*\/*` says nothing about AVIF), q=0 refuses. */
function accepts(accept: string, type: string): boolean {
  return accept.split(',').some((entry) => {
    const [media, ...params] = entry.split(';').map((s) => s.trim().toLowerCase());
    if (media !== type) return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** `format=auto`: AVIF, then WebP, then the source's default, as the client's Accept allows. */
export function negotiateFormat(accept: string | undefined, sourceMime: string): OutputFormat[] {
  const options: OutputFormat[] = [];
  if (accept !== undefined && accepts(accept, 'image/avif')) options.push('avif');
  if (accept !== undefined && accepts(accept, 'image/webp')) options.push('webp');
  options.push(defaultFormat(sourceMime));
  return options;
}
