/**
 * The error catalogue: every error a client can see, with a stable `code`, an HTTP status and a
 * message that says what to do. Where the published Assets API has a wording, it is used verbatim.
 * Backends throw these (or the storage ones below); the HTTP error handler renders them.
 */
export class AmsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'AmsError';
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

export const SUPPORTED_MEDIA_TEXT =
  'images (JPEG, PNG, GIF, WebP, AVIF, TIFF, BMP, HEIC) or videos (MP4, MOV, WebM, MKV, AVI)';

/** Why an audio file (MP3, M4A, or a video container holding only sound) is refused: not "corrupt". */
export const SOUND_ONLY = 'sound only, no picture: an asset is an image or a video';

export const errors = {
  noFile: () => new AmsError('NO_FILE', 400, 'Ensure file was attached to request'),
  tooManyFiles: () => new AmsError('TOO_MANY_FILES', 400, 'Ensure you are only uploading one Asset at a time'),
  wrongType: () =>
    new AmsError(
      'WRONG_ASSET_TYPE',
      400,
      'Ensure the Asset is of the correct type for the action (i.e. an image for /images endpoints)',
    ),
  notFound: () => new AmsError('NOT_FOUND', 404, 'Asset Media Service Error: Resource not found'),
  routeNotFound: (method: string, url: string) =>
    new AmsError('ROUTE_NOT_FOUND', 404, `Route ${method} ${url} not found; see /docs for the API`),
  /** `allowed`: what the path is served with; OPTIONS (answered on every known path) joins them in `Allow`. */
  methodNotAllowed: (method: string, url: string, allowed: readonly string[]) =>
    new AmsError(
      'METHOD_NOT_ALLOWED',
      405,
      `${method} is not allowed on ${url}; use ${allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}` : allowed[0]}`,
      { allow: [...allowed, 'OPTIONS'].join(', ') },
    ),
  unsupportedMedia: (what: string) =>
    new AmsError(
      'UNSUPPORTED_MEDIA',
      400,
      `Unsupported file (${what}); upload ${SUPPORTED_MEDIA_TEXT}`,
    ),
  svgRefused: () =>
    new AmsError(
      'SVG_REFUSED',
      400,
      `SVG files are refused because they can carry scripts; upload ${SUPPORTED_MEDIA_TEXT}`,
    ),
  corruptMedia: (reason: string) =>
    new AmsError(
      'CORRUPT_MEDIA',
      400,
      `The file is corrupt or truncated (${reason}); upload the complete, undamaged file`,
    ),
  tooManyPixels: (width: number, height: number, limit: number) =>
    new AmsError(
      'TOO_MANY_PIXELS',
      400,
      `The image declares ${width}x${height} pixels, more than the limit of ${limit} pixels; upload a smaller image`,
    ),
  tooLarge: (limit: number) =>
    new AmsError('FILE_TOO_LARGE', 413, `The file is larger than the limit of ${limit} bytes; upload a smaller file`),
  unauthorized: (why: string, expected = 'a valid upload token') =>
    new AmsError('UNAUTHORIZED', 401, `${why}; send 'Authorization: Bearer <token>' with ${expected}`, {
      'www-authenticate': 'Bearer realm="ams"',
    }),
  insufficientScope: (scope: string) =>
    new AmsError('INSUFFICIENT_SCOPE', 403, `The token lacks the scope "${scope}"; ask for a token that grants it`, {
      'www-authenticate': `Bearer realm="ams", error="insufficient_scope", scope="${scope}"`,
    }),
  identityUnavailable: () =>
    new AmsError('IDENTITY_UNAVAILABLE', 503, "The identity provider's signing keys cannot be fetched; try again shortly", {
      'retry-after': '5',
    }),
  idempotencyConflict: () =>
    new AmsError(
      'IDEMPOTENCY_KEY_REUSED',
      422,
      'This Idempotency-Key was already used for a different file; use a new key for a new upload',
    ),
  idempotencyInProgress: () =>
    new AmsError('IDEMPOTENCY_KEY_IN_USE', 409, 'An upload with this Idempotency-Key is still in progress; retry after it completes', {
      'retry-after': '1',
    }),
  badIdempotencyKey: () =>
    new AmsError('BAD_IDEMPOTENCY_KEY', 400, 'Idempotency-Key must be 1 to 255 printable characters without spaces; send a unique key such as a UUID'),
  badDigestHeader: (header: string) =>
    new AmsError('BAD_DIGEST_HEADER', 400, `The ${header} header is malformed; send e.g. Repr-Digest: sha-256=:<base64>: or Content-MD5: <base64>`),
  digestMismatch: (header: string) =>
    new AmsError('DIGEST_MISMATCH', 400, `The file does not match its ${header}; it was damaged in transit or the digest is wrong, so send it again`),
  corsOriginNotAllowed: (origin: string) =>
    new AmsError(
      'CORS_ORIGIN_NOT_ALLOWED',
      403,
      `Pages from ${origin} may read assets but not upload or delete them; add the origin to AMS_CORS_UPLOAD_ORIGINS to allow it`,
    ),
  shuttingDown: () =>
    new AmsError('SHUTTING_DOWN', 503, 'The server is shutting down; retry the request (another instance, or this one once restarted, will answer)', {
      'retry-after': '1',
    }),
  rateLimited: (retryAfterS: number, per: string) =>
    new AmsError('RATE_LIMITED', 429, `Too many uploads from this ${per}; retry after ${retryAfterS} s`, {
      'retry-after': String(retryAfterS),
    }),
  rangeNotSatisfiable: (size: number) =>
    new AmsError('RANGE_NOT_SATISFIABLE', 416, `The requested range is outside the file of ${size} bytes`, {
      'content-range': `bytes */${size}`,
    }),
  preconditionFailed: (etag: string) =>
    new AmsError('PRECONDITION_FAILED', 412, `The file's current ETag is ${etag}: it does not meet If-Match / If-Unmodified-Since; drop them or send the current values`, { etag }),
  uploadAborted: () => new AmsError('UPLOAD_ABORTED', 400, 'The upload was interrupted; send the whole file again'),
  requestTimeout: (ms: number) =>
    new AmsError('REQUEST_TIMEOUT', 408, `The request was not received within ${ms} ms; send it again over a faster connection`),
  storageUnavailable: () =>
    new AmsError('STORAGE_UNAVAILABLE', 503, 'File storage is unavailable; try again shortly', { 'retry-after': '5' }),
  storageFull: () =>
    new AmsError('STORAGE_FULL', 507, 'File storage is full; try again after space is freed'),
  badCursor: () =>
    new AmsError('BAD_CURSOR', 400, 'The cursor is not one this server handed out; start again without a cursor'),
  invalidParameter: (name: string, value: string, allowed: string) =>
    new AmsError('INVALID_PARAMETER', 400, `Invalid ${name}=${JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value)}; use ${allowed}`),
  notTransformable: (mimeType: string, href: string) =>
    new AmsError(
      'NOT_TRANSFORMABLE',
      400,
      `${mimeType} images are stored as uploaded and cannot be resized or converted; request the original at ${href}`,
    ),
  derivativeTooLarge: (width: number, height: number, max: number) =>
    new AmsError(
      'DERIVATIVE_TOO_LARGE',
      400,
      // Often a narrow width of a very tall image (or the reverse): the side left out keeps the
      // proportions and a small image is not enlarged, so the other side stays over the limit.
      `The derivative would be ${width}x${height} pixels; ask for at most ${max} pixels a side ` +
        `(a side left out keeps the image's proportions: give both width and height, e.g. with fit=inside; ` +
        `images are not enlarged unless enlarge=true)`,
    ),
  derivativesBusy: () =>
    new AmsError('DERIVATIVES_BUSY', 503, 'Too many images are being resized right now; try again shortly', { 'retry-after': '2' }),
  derivativeTimeout: () =>
    new AmsError('DERIVATIVE_TIMEOUT', 503, 'Resizing this image took too long; try a smaller size or another format', {
      'retry-after': '5',
    }),
  ffmpegUnavailable: (ffmpegPath: string) =>
    new AmsError(
      'FFMPEG_UNAVAILABLE',
      501,
      `Video posters need ffmpeg, which this server cannot run (AMS_FFMPEG_PATH=${JSON.stringify(ffmpegPath)}); install ffmpeg or point AMS_FFMPEG_PATH at it. The video itself is still served at /videos/{id}`,
    ),
  posterFailed: (reason: string) =>
    new AmsError(
      'POSTER_FAILED',
      422,
      `No poster frame could be decoded from this video (${reason}); the video itself is still served at /videos/{id}, or upload an undamaged copy`,
    ),
  signatureInvalid: (why: string) =>
    new AmsError('SIGNATURE_INVALID', 403, `${why}; derivative URLs must be signed (see \`ams sign-url\`)`),
  presetRequired: (presets: string) =>
    new AmsError('PRESET_REQUIRED', 400, `Only preset sizes are served here; use preset=${presets} (with format and dpr)`),
  databaseUnavailable: () =>
    new AmsError('DATABASE_UNAVAILABLE', 503, 'The metadata database is unavailable; try again shortly', {
      'retry-after': '5',
    }),
} as const;

/** Raised by a BlobStore when the key has no blob. Not a client error by itself. */
export class BlobNotFound extends Error {
  constructor(readonly key: string) {
    super(`blob not found: ${key}`);
    this.name = 'BlobNotFound';
  }
}

/** Raised by a BlobStore when its backend cannot be reached or written. */
export class StorageUnavailable extends Error {
  constructor(message: string, readonly full = false, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailable';
  }
}

/** Raised by an AssetRepository when its database cannot be reached or written. */
export class DatabaseUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailable';
  }
}
