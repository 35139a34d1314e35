import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseDatabase, parseStorage, type DatabaseConfig, type StorageConfig } from './config-backends.js';
import { parseVariantQuery } from './media/variant-spec.js';

/**
 * The one place that reads the environment. `loadConfig` is pure: it validates every variable at
 * once, reports each bad one by name, and returns a frozen, typed object.
 */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /**
   * Base of every URL we hand out (`href`, redirects); never taken from the request's Host header.
   * null: `http://localhost:<the port actually bound>`.
   */
  publicUrl: string | null;
  /** Static upload tokens; empty means "generate one in the data directory on first start". */
  tokens: readonly string[];
  maxUploadBytes: number;
  maxPixels: number;
  logLevel: string;
  /** Whole-request deadline (slow bodies); 0 disables. */
  requestTimeoutMs: number;
  /** Socket inactivity deadline: a client that sends nothing for this long is cut off. */
  idleTimeoutMs: number;
  /** How long a starting server waits for an unreachable PostgreSQL or bucket; 0 = not at all. */
  startupWaitMs: number;
  /** In-process caches in front of the database and the store (hot metadata and small files). */
  cache: {
    /** Asset rows kept; 0 disables. */
    rows: number;
    /** How long a cached row is trusted (deletes by other processes show after this). */
    rowTtlMs: number;
    /** Bytes of small files kept in memory; 0 disables. */
    fileBytes: number;
    /** Largest file kept whole in memory. */
    maxFileBytes: number;
    /** Cached reads answered before the router (src/http/hot-reads.ts). */
    hotReads: boolean;
  };
  /** Where the rows live: SQLite in the data directory (default) or PostgreSQL. */
  database: DatabaseConfig;
  /** Where the bytes live: the data directory (default) or an S3-compatible bucket. */
  storage: StorageConfig;
  /** Image derivatives (resize / convert): guards, presets and the abuse guards. */
  derivatives: {
    concurrency: number;
    queueLimit: number;
    timeoutMs: number;
    maxDimension: number;
    /** name → query string, e.g. thumb → `width=240&height=240&fit=cover`. */
    presets: Readonly<Record<string, string>>;
    presetsOnly: boolean;
    /** HMAC keys for signed derivative URLs; empty = unsigned URLs accepted. The first signs. */
    signingKeys: readonly string[];
    /** The ffmpeg that extracts video poster frames: a path, or a name looked up on PATH. */
    ffmpegPath: string;
  };
  /** Identity, idempotency, limits, CORS, life cycle (issue 5); parsed in one place below. */
  ops: OpsConfig;
}

export interface OpsConfig {
  /** JWT bearer tokens are accepted when a JWKS URL or a public key is set. */
  jwt: {
    jwksUrl: string | null;
    publicKeyPem: string | null;
    issuer: string | null;
    audience: string | null;
    clockSkewS: number;
    requiredScope: string | null;
  };
  idempotencyTtlS: number;
  /** Uploads per rate window; 0 disables that limit. */
  uploadRatePerToken: number;
  uploadRatePerIp: number;
  rateWindowS: number;
  /** Origins allowed to upload from a browser; GETs are open to every origin. */
  corsUploadOrigins: readonly string[];
  /** Bearer token `/metrics` asks for; null: open (scrapers on a private network). */
  metricsToken: string | null;
  shutdownTimeoutMs: number;
  workers: number;
  gcGraceS: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const DEFAULT_PRESETS =
  'thumb:width=240&height=240&fit=cover,card:width=600&height=600&fit=inside,zoom:width=2000&height=2000&fit=inside';

/** Every setting, its default and what it is for; the README table is written from this list. */
export const SETTINGS = {
  AMS_PORT: { default: '8080', doc: 'TCP port to listen on (0 = any free port).' },
  AMS_HOST: { default: '0.0.0.0', doc: 'Interface to bind; `127.0.0.1` keeps the service local.' },
  AMS_DATA_DIR: { default: './data', doc: 'Where the SQLite database, the stored files and temp files live.' },
  AMS_PUBLIC_URL: {
    default: 'http://localhost:<port>',
    doc: 'Base URL clients reach the service at; used to build `href` and redirect targets.',
  },
  AMS_TOKENS: {
    default: '(generated)',
    doc: 'Comma-separated upload tokens. Empty: one is generated on first start and kept in `<data>/token`.',
  },
  AMS_MAX_UPLOAD_BYTES: { default: '2147483648', doc: 'Largest accepted file (2 GiB); larger uploads get 413.' },
  AMS_MAX_PIXELS: {
    default: '100000000',
    doc: 'Largest image (width × height) accepted, checked from the header before any decoding.',
  },
  AMS_METRICS_TOKEN: {
    default: '(none: /metrics is open)',
    doc: 'When set (16+ printable characters), `/metrics` answers only `Authorization: Bearer <this token>` (Prometheus: `authorization: { credentials: … }`); other requests get 401. Upload tokens do not open it.',
  },
  AMS_LOG_LEVEL: { default: 'info', doc: 'pino level: fatal, error, warn, info, debug, trace or silent.' },
  AMS_REQUEST_TIMEOUT_MS: {
    default: '3600000',
    doc: 'Deadline for receiving a whole request (1 h fits 2 GiB at ~5 Mbit/s); 0 disables.',
  },
  AMS_IDLE_TIMEOUT_MS: { default: '30000', doc: 'A connection silent for this long is closed (slow-loris guard).' },
  AMS_STARTUP_WAIT_S: {
    default: '30',
    doc: 'How long a starting server waits for an unreachable PostgreSQL or S3 bucket, retrying, before giving up (exit 1); 0 gives up at once.',
  },
  AMS_CACHE_ROWS: { default: '10000', doc: 'Asset rows kept in memory for metadata and file requests (~1 KB each); 0 disables.' },
  AMS_CACHE_ROW_TTL_MS: {
    default: '5000',
    doc: 'How long a cached row is trusted. A delete made by another process or instance is seen by this one after at most this long.',
  },
  AMS_CACHE_FILE_MB: { default: '64', doc: 'Memory for small files served from RAM instead of the disk/bucket (least recently used go first); 0 disables.' },
  AMS_CACHE_MAX_FILE_KB: { default: '512', doc: 'Largest file kept in the file cache.' },
  AMS_HOT_READS: { default: 'true', doc: 'Answer cached reads before the router (src/http/hot-reads.ts); `false` sends every request through the routes.' },
  AMS_DATABASE_URL: {
    default: '(SQLite in the data directory)',
    doc: '`postgres://user:pass@host:5432/db` for PostgreSQL (needed to run several instances), or `sqlite:<file>`.',
  },
  AMS_STORAGE: { default: 'fs', doc: '`fs`: files under `<data>/blobs`; `s3`: an S3-compatible bucket (needed to run several instances).' },
  AMS_S3_BUCKET: { default: '(required for s3)', doc: 'Bucket holding the files; it must exist.' },
  AMS_S3_REGION: { default: 'us-east-1', doc: "The bucket's region (any value for most S3-compatible servers)." },
  AMS_S3_ENDPOINT: { default: '(AWS)', doc: 'Endpoint of an S3-compatible server, e.g. `http://minio:9000`.' },
  AMS_S3_FORCE_PATH_STYLE: { default: 'false', doc: '`true` for path-style URLs (MinIO, Ceph RGW and most self-hosted servers).' },
  AMS_S3_PREFIX: { default: '(none)', doc: 'Key prefix ending in `/`, to share a bucket, e.g. `ams/`.' },
  AMS_S3_PRESIGN_TTL: { default: '3600', doc: 'Seconds a presigned redirect URL stays valid (max 604800).' },
  AMS_S3_PUBLIC_URL: {
    default: '(presigned URLs)',
    doc: 'Public/CDN base URL of the bucket (prefix included in keys); redirects go there instead of to presigned URLs.',
    },
  AMS_DERIVATIVE_CONCURRENCY: { default: '(CPU cores)', doc: 'Image transforms running at once; each holds a decoded image.' },
  AMS_DERIVATIVE_QUEUE: { default: '100', doc: 'Transforms waiting for a slot; past this, 503 with Retry-After.' },
  AMS_DERIVATIVE_TIMEOUT_MS: {
    default: '10000',
    doc: 'Budget of one transform; past it 503 (nothing cached), or WebP instead of AVIF for format=auto.',
  },
  AMS_DERIVATIVE_MAX_DIMENSION: { default: '4096', doc: 'Largest width or height a derivative may have (after dpr).' },
  AMS_DERIVATIVE_PRESETS: {
    default: DEFAULT_PRESETS,
    doc: 'Named parameter sets: `name:query` separated by commas, used as `?preset=name`.',
  },
  AMS_DERIVATIVE_PRESETS_ONLY: {
    default: 'false',
    doc: '`true`: only preset sizes (at dpr 1–4, any format) are computed, so nobody can ask for arbitrary sizes.',
  },
  AMS_SIGNING_KEYS: {
    default: '(none)',
    doc: 'Comma-separated HMAC keys (16+ characters); when set, derivative URLs need a valid `sig`. The first signs (`ams sign-url`); the others are still accepted, for rotation.',
  },
  AMS_FFMPEG_PATH: {
    default: 'ffmpeg',
    doc: 'The ffmpeg binary that extracts video poster frames (a path, or a name on PATH). Checked once at start-up with `ffmpeg -version`; when it cannot run, AMS still starts, logs a warning, and poster requests answer 501 FFMPEG_UNAVAILABLE.',
  },
  AMS_JWT_JWKS_URL: { default: '', doc: 'Accept JWT bearer tokens signed by a key from this JWKS URL (RS/PS/ES/EdDSA only).' },
  AMS_JWT_PUBLIC_KEY: { default: '', doc: 'Or: accept JWTs signed by this PEM public key (SPKI; `\\n` may stand for newlines).' },
  AMS_JWT_ISSUER: { default: '', doc: 'Required `iss` of JWTs; empty: not checked.' },
  AMS_JWT_AUDIENCE: { default: '', doc: 'Required `aud` of JWTs; empty: not checked.' },
  AMS_JWT_CLOCK_SKEW_S: { default: '30', doc: 'Tolerated clock difference when checking `exp`/`nbf`.' },
  AMS_JWT_SCOPE: { default: '', doc: 'Scope a JWT must carry (in `scope` or `scp`) to upload, e.g. `assets:write`; empty: none.' },
  AMS_IDEMPOTENCY_TTL_S: { default: '86400', doc: 'How long an Idempotency-Key is remembered.' },
  AMS_UPLOAD_RATE_PER_TOKEN: { default: '600', doc: 'Uploads one token may start per window; 0 disables.' },
  AMS_UPLOAD_RATE_PER_IP: { default: '600', doc: 'Uploads one client IP may start per window; 0 disables.' },
  AMS_RATE_WINDOW_S: { default: '60', doc: 'Length of the upload rate-limit window (per process).' },
  AMS_CORS_UPLOAD_ORIGINS: { default: '', doc: 'Comma-separated origins allowed to upload from a browser (GETs: any origin).' },
  AMS_SHUTDOWN_TIMEOUT_MS: { default: '30000', doc: 'On SIGTERM, how long in-flight uploads may take to finish before they are aborted.' },
  AMS_WORKERS: { default: '1', doc: 'Processes serving one port (node:cluster); `auto` = one per core.' },
  AMS_URL: { default: 'http://localhost:8080', doc: '`ams upload`: the AMS server to upload to (or `--url`).' },
  AMS_TOKEN: { default: '(from <data>/token)', doc: '`ams upload`: the bearer token to send (or `--token`).' },
  AMS_GC_GRACE_S: { default: '86400', doc: '`ams gc` leaves unreferenced blobs younger than this (an upload may be committing).' },
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Readonly<Config> {
  const problems: string[] = [];
  const raw = (name: keyof typeof SETTINGS): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: keyof typeof SETTINGS, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      problems.push(`${name}=${JSON.stringify(v)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(v);
  };

  const flag = (name: keyof typeof SETTINGS, fallback: boolean) => {
    const v = raw(name);
    if (v === undefined) return fallback;
    if (v !== 'true' && v !== 'false') problems.push(`${name}: expected true or false`);
    return v === 'true' || (v !== 'false' && fallback);
  };

  const port = int('AMS_PORT', 8080, 0, 65535);
  const host = raw('AMS_HOST') ?? '0.0.0.0';
  // Checked here so a typo stops the start by name, not as a getaddrinfo error from listen().
  if (isIP(host) === 0 && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(host)) {
    problems.push(`AMS_HOST=${JSON.stringify(host)}: expected an IP address or a host name of this machine, e.g. 127.0.0.1 or 0.0.0.0`);
  }
  const dataDir = path.resolve(cwd, raw('AMS_DATA_DIR') ?? './data');

  let publicUrl: string | null = null;
  const publicRaw = raw('AMS_PUBLIC_URL');
  if (publicRaw !== undefined) {
    try {
      const u = new URL(publicRaw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      if (u.search || u.hash) throw new Error('query');
      publicUrl = u.toString().replace(/\/+$/, '');
    } catch {
      problems.push(`AMS_PUBLIC_URL=${JSON.stringify(publicRaw)}: expected an http(s) URL without query, e.g. https://media.example.com`);
    }
  }

  const tokens = (raw('AMS_TOKENS') ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  for (const t of tokens) {
    if (t.length < 16 || !/^[\x21-\x7e]+$/.test(t)) {
      problems.push('AMS_TOKENS: every token must be at least 16 printable characters without spaces');
      break;
    }
  }

  const logLevel = raw('AMS_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`AMS_LOG_LEVEL=${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);

  const maxDimension = int('AMS_DERIVATIVE_MAX_DIMENSION', 4096, 16, 16384);
  const presets: Record<string, string> = {};
  for (const entry of (raw('AMS_DERIVATIVE_PRESETS') ?? DEFAULT_PRESETS).split(',')) {
    const [name = '', query = ''] = entry.trim().split(/:(.*)/s);
    try {
      if (!/^[a-z][a-z0-9_-]{0,31}$/.test(name)) throw new Error('a preset name is lowercase letters, digits, - or _');
      // Checked with the same grammar the requests use, so a bad preset stops the start, not a request.
      parseVariantQuery(Object.fromEntries(new URLSearchParams(query)), { presets: {}, maxDimension }, false);
      presets[name] = query;
    } catch (err) {
      problems.push(`AMS_DERIVATIVE_PRESETS entry ${JSON.stringify(entry)}: ${(err as Error).message}`);
    }
  }
  const signingKeys = (raw('AMS_SIGNING_KEYS') ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (signingKeys.some((k) => k.length < 16)) problems.push('AMS_SIGNING_KEYS: every key must be at least 16 characters');

  const config: Config = {
    port,
    host,
    dataDir,
    publicUrl,
    tokens: Object.freeze(tokens),
    maxUploadBytes: int('AMS_MAX_UPLOAD_BYTES', 2 * 1024 ** 3, 1),
    maxPixels: int('AMS_MAX_PIXELS', 100_000_000, 1),
    logLevel,
    requestTimeoutMs: int('AMS_REQUEST_TIMEOUT_MS', 3_600_000, 0),
    idleTimeoutMs: int('AMS_IDLE_TIMEOUT_MS', 30_000, 1000),
    startupWaitMs: int('AMS_STARTUP_WAIT_S', 30, 0, 3600) * 1000,
    cache: Object.freeze({
      rows: int('AMS_CACHE_ROWS', 10_000, 0),
      rowTtlMs: int('AMS_CACHE_ROW_TTL_MS', 5_000, 1),
      fileBytes: int('AMS_CACHE_FILE_MB', 64, 0, 1 << 20) * 1024 * 1024,
      maxFileBytes: int('AMS_CACHE_MAX_FILE_KB', 512, 1, 1 << 20) * 1024,
      hotReads: flag('AMS_HOT_READS', true),
    }),
    database: parseDatabase(raw as (n: string) => string | undefined, dataDir, problems),
    storage: parseStorage(raw as (n: string) => string | undefined, int as (n: string, f: number, min: number, max?: number) => number, dataDir, problems),
    derivatives: Object.freeze({
      concurrency: int('AMS_DERIVATIVE_CONCURRENCY', os.availableParallelism(), 1, 1024),
      queueLimit: int('AMS_DERIVATIVE_QUEUE', 100, 0),
      timeoutMs: int('AMS_DERIVATIVE_TIMEOUT_MS', 10_000, 1),
      maxDimension,
      presets: Object.freeze(presets),
      presetsOnly: flag('AMS_DERIVATIVE_PRESETS_ONLY', false),
      signingKeys: Object.freeze(signingKeys),
      ffmpegPath: raw('AMS_FFMPEG_PATH') ?? 'ffmpeg',
    }),
    ops: loadOpsConfig(raw, int, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

type Raw = (name: keyof typeof SETTINGS) => string | undefined;
type Int = (name: keyof typeof SETTINGS, fallback: number, min: number, max?: number) => number;

function loadOpsConfig(raw: Raw, int: Int, problems: string[]): OpsConfig {
  const jwksUrl = raw('AMS_JWT_JWKS_URL') ?? null;
  if (jwksUrl !== null && !/^https?:\/\/\S+$/.test(jwksUrl)) {
    problems.push(`AMS_JWT_JWKS_URL=${JSON.stringify(jwksUrl)}: expected an http(s) URL`);
  }
  const pem = raw('AMS_JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n') ?? null;
  if (pem !== null && !pem.includes('-----BEGIN PUBLIC KEY-----')) {
    problems.push('AMS_JWT_PUBLIC_KEY: expected a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  const origins = (raw('AMS_CORS_UPLOAD_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
  for (const o of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(o)) problems.push(`AMS_CORS_UPLOAD_ORIGINS: ${JSON.stringify(o)} is not an origin like https://shop.example.com`);
  }
  // One scope token (RFC 6749 §3.3): a JWT's scope claim is space-separated, so a space could never match.
  const scope = raw('AMS_JWT_SCOPE') ?? null;
  if (scope !== null && !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
    problems.push(`AMS_JWT_SCOPE=${JSON.stringify(scope)}: expected one scope without spaces or quotes, e.g. assets:write`);
  }
  const metricsToken = raw('AMS_METRICS_TOKEN') ?? null;
  if (metricsToken !== null && !/^[\x21-\x7e]{16,}$/.test(metricsToken)) {
    problems.push('AMS_METRICS_TOKEN: expected at least 16 printable characters without spaces');
  }
  const workersRaw = raw('AMS_WORKERS');
  const cores = os.availableParallelism();
  const workers = workersRaw === 'auto' ? cores : int('AMS_WORKERS', 1, 1, 1024);
  return {
    jwt: {
      jwksUrl,
      publicKeyPem: pem,
      issuer: raw('AMS_JWT_ISSUER') ?? null,
      audience: raw('AMS_JWT_AUDIENCE') ?? null,
      clockSkewS: int('AMS_JWT_CLOCK_SKEW_S', 30, 0, 3600),
      requiredScope: scope,
    },
    idempotencyTtlS: int('AMS_IDEMPOTENCY_TTL_S', 86_400, 1),
    uploadRatePerToken: int('AMS_UPLOAD_RATE_PER_TOKEN', 600, 0),
    uploadRatePerIp: int('AMS_UPLOAD_RATE_PER_IP', 600, 0),
    rateWindowS: int('AMS_RATE_WINDOW_S', 60, 1),
    corsUploadOrigins: Object.freeze(origins),
    shutdownTimeoutMs: int('AMS_SHUTDOWN_TIMEOUT_MS', 30_000, 0),
    workers,
    gcGraceS: int('AMS_GC_GRACE_S', 86_400, 0),
    metricsToken,
  };
}

/** What `ams upload` (an HTTP client) needs; the server's own settings do not apply to it. */
export function loadClientConfig(env: Env = process.env): { url: string | null; token: string | null } {
  const v = (name: 'AMS_URL' | 'AMS_TOKEN') => (env[name]?.trim() ? env[name]!.trim() : null);
  return { url: v('AMS_URL'), token: v('AMS_TOKEN') };
}
