/** What the bytes of an upload turned out to be. Every field comes from the file, never the client. */
export type MediaKind = 'image' | 'video';

export interface MediaFormat {
  kind: MediaKind;
  /** Canonical MIME type, e.g. `image/jpeg`, `video/mp4`. */
  mimeType: string;
  /** File extension used in URLs, without the dot: `jpg`, `png`, `mp4`, … */
  ext: string;
}

export interface ProbeResult extends MediaFormat {
  /** Displayed width: EXIF orientation / video rotation already applied. */
  width: number;
  /** Displayed height. */
  height: number;
  /** Video duration in milliseconds, rounded; null for still images. */
  durationMs: number | null;
  /** Rotation (images: EXIF orientation 1–8; videos: degrees 0/90/180/270). */
  orientation: number;
}

/**
 * The first bytes of an upload, kept by the receive pass so sniffing and probing need not open the
 * file again. `complete` when they are the whole file.
 */
export interface FileHead {
  bytes: Buffer;
  complete: boolean;
}

/** How much of an upload's start is kept in memory: every header we read from a head fits, in practice. */
export const FILE_HEAD_BYTES = 64 * 1024;
