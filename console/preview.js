// Builds the small preview of an asset (gallery cards and finished uploads).
import { formatDuration, thumbnailUrl } from './api.js';

/** A placeholder when the browser cannot show the file (HEIC, say): the name still identifies it. */
function noPreview(kind) {
  const span = document.createElement('span');
  span.className = 'no-preview';
  span.textContent = kind === 'video' ? 'Video' : 'No preview';
  return span;
}

/**
 * Images come from the derivative endpoint; videos show their first frames (metadata only, muted),
 * since there is no poster derivative.
 */
export function preview(asset) {
  const box = document.createElement('span');
  box.className = 'thumb';
  let media;
  if (asset.kind === 'video') {
    media = document.createElement('video');
    media.preload = 'metadata';
    media.muted = true;
    media.playsInline = true;
    // #t= makes the browser decode a frame a little in, rather than a black first frame.
    media.src = `${asset.href}#t=0.1`;
    media.setAttribute('aria-hidden', 'true');
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = asset.durationMs == null ? 'Video' : `Video · ${formatDuration(asset.durationMs)}`;
    box.append(badge);
  } else {
    media = document.createElement('img');
    media.src = thumbnailUrl(asset);
    media.alt = '';
    media.loading = 'lazy';
    media.decoding = 'async';
    media.width = 240;
    media.height = Math.max(1, Math.round((240 * asset.height) / Math.max(1, asset.width)));
  }
  media.className = 'thumb-media';
  media.addEventListener('error', () => media.replaceWith(noPreview(asset.kind)), { once: true });
  box.prepend(media);
  return box;
}
