import type { Readable } from 'node:stream';

/** An inclusive byte range, as HTTP Range speaks it. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobInfo {
  size: number;
  contentType: string;
}

export interface DirectResponse {
  contentType: string;
  /** A Content-Disposition value. */
  contentDisposition: string;
}

export interface BlobEntry {
  key: string;
  size: number;
  modifiedAt: Date;
}

/**
 * Where bytes live. Keys are content-addressed by the caller (see keys.ts), so a put of an existing
 * key is a no-op success. Backends translate their own failures into `BlobNotFound` and
 * `StorageUnavailable`: nothing above `blob/` sees an errno or an SDK error.
 */
export interface BlobStore {
  /**
   * Stores a complete, already-fsynced local file under `key`, atomically: nobody ever sees a
   * partial blob. The store may move the file (the caller must not use `file` afterwards, but must
   * still remove it if it is left behind). `created` is false when the key already existed.
   */
  putFile(key: string, file: string, info: BlobInfo): Promise<{ created: boolean }>;
  /** Same as putFile for a stream (derivatives); the stream is consumed fully or destroyed. */
  put(key: string, body: Readable, info: BlobInfo): Promise<{ created: boolean }>;
  /** The bytes, or the inclusive `range` of them. Throws BlobNotFound before any byte is read. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * The blob's path on this machine's disk, for a tool that must read a file itself (ffmpeg seeks
   * in videos), or null when the backend keeps the bytes elsewhere (then copy them with get()).
   * Read-only: the file is shared by every asset with these bytes. Existence is not checked.
   */
  localFile(key: string): string | null;
  /**
   * For a backend without local files: a URL from which a tool on this machine (ffmpeg) can read
   * the blob itself with HTTP range requests, valid `ttlSeconds` — so it reads only the parts it
   * needs instead of a whole copy. Null when there is none (then copy the bytes with get()).
   */
  toolUrl(key: string, ttlSeconds: number): Promise<string | null>;
  /** Size of the blob; throws BlobNotFound. */
  stat(key: string): Promise<{ size: number }>;
  /** Removes the blob; removing a missing key succeeds. */
  delete(key: string): Promise<void>;
  /**
   * A URL a client may fetch the blob from directly (presigned), or null when there is none.
   * `response` asks the store to serve it with these headers (presigned S3 URLs can; blobs are
   * shared by content, so a per-asset file name cannot live on the blob itself).
   */
  directUrl(key: string, ttlSeconds: number, response?: DirectResponse): Promise<string | null>;
  /** Every blob whose key starts with `prefix` (for the sweeper and `ams verify`). */
  list(prefix: string): AsyncIterable<BlobEntry>;
  /** Throws StorageUnavailable when the backend cannot be used (readiness). */
  check(): Promise<void>;
}
