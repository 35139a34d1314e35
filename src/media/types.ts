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
