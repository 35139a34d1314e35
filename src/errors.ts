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
  unauthorized: (why: string) =>
    new AmsError('UNAUTHORIZED', 401, `${why}; send 'Authorization: Bearer <token>' with a valid upload token`, {
      'www-authenticate': 'Bearer realm="ams"',
    }),
  rangeNotSatisfiable: (size: number) =>
    new AmsError('RANGE_NOT_SATISFIABLE', 416, `The requested range is outside the file of ${size} bytes`, {
      'content-range': `bytes */${size}`,
    }),
  uploadAborted: () => new AmsError('UPLOAD_ABORTED', 400, 'The upload was interrupted; send the whole file again'),
  requestTimeout: (ms: number) =>
    new AmsError('REQUEST_TIMEOUT', 408, `The request was not received within ${ms} ms; send it again over a faster connection`),
  storageUnavailable: () =>
    new AmsError('STORAGE_UNAVAILABLE', 503, 'File storage is unavailable; try again shortly', { 'retry-after': '5' }),
  storageFull: () =>
    new AmsError('STORAGE_FULL', 507, 'File storage is full; try again after space is freed'),
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
