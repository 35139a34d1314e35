// Builds the small preview of an asset (gallery cards and finished uploads).
import { formatDuration, thumbnailUrl } from './api.js';

/** A placeholder when the browser cannot show the file (HEIC, say): the name still identifies it. */
function noPreview(kind) {
  const span = document.createElement('span');
  span.className = 'no-preview';
  span.textContent = kind === 'video' ? 'Video' : 'No preview';
  return span;
}

/** The video itself, muted, showing its first frames: for a server without ffmpeg (no posters). */
function firstFrames(asset) {
  const video = document.createElement('video');
  video.preload = 'metadata';
  video.muted = true;
  video.playsInline = true;
  // #t= makes the browser decode a frame a little in, rather than a black first frame.
  video.src = `${asset.href}#t=0.1`;
  video.setAttribute('aria-hidden', 'true');
  return video;
}

/** Images and video posters come from the derivative endpoints; a video whose poster fails shows its first frames. */
export function preview(asset) {
  const box = document.createElement('span');
  box.className = 'thumb';
  const media = document.createElement('img');
  media.src = thumbnailUrl(asset);
  media.alt = '';
  media.loading = 'lazy';
  media.decoding = 'async';
  media.width = 240;
  media.height = Math.max(1, Math.round((240 * asset.height) / Math.max(1, asset.width)));
  media.className = 'thumb-media';
  const fail = (el) => el.addEventListener('error', () => el.replaceWith(noPreview(asset.kind)), { once: true });
  if (asset.kind === 'video') {
    media.addEventListener(
      'error',
      () => {
        const video = firstFrames(asset);
        video.className = 'thumb-media';
        fail(video);
        media.replaceWith(video);
      },
      { once: true },
    );
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = asset.durationMs == null ? 'Video' : `Video · ${formatDuration(asset.durationMs)}`;
    box.append(badge);
  } else {
    fail(media);
  }
  box.prepend(media);
  return box;
}
