// Talks to the AMS API with the token kept in this browser. Every error carries the API's own message.

const KEY = 'ams.token';

export const token = {
  get: () => localStorage.getItem(KEY),
  set: (value) => localStorage.setItem(KEY, value),
  clear: () => localStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function messageOf(status, text) {
  try {
    const body = JSON.parse(text);
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: a proxy's page, say
  }
  return `The server answered ${status}; try again`;
}

async function request(method, path, tokenValue = token.get()) {
  const res = await fetch(path, { method, headers: { authorization: `Bearer ${tokenValue}` } });
  if (!res.ok) throw new ApiError(res.status, await messageOf(res.status, await res.text()));
  return res.status === 204 ? null : res.json();
}

/** One page of assets, newest first. */
export function listAssets({ limit = 24, cursor, kind, q } = {}, tokenValue) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (cursor) params.set('cursor', cursor);
  if (kind) params.set('kind', kind);
  if (q) params.set('q', q);
  return request('GET', `/assets?${params}`, tokenValue);
}

export const deleteAsset = (id) => request('DELETE', `/assets/${encodeURIComponent(id)}`);

/**
 * Uploads one file. XMLHttpRequest, not fetch: only it reports upload progress.
 * Resolves with the API's JSON; rejects with an ApiError carrying the API's message.
 */
export function uploadFile(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/assets');
    xhr.setRequestHeader('authorization', `Bearer ${token.get()}`);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', async () => {
      if (xhr.status === 201) resolve(JSON.parse(xhr.responseText));
      else reject(new ApiError(xhr.status, await messageOf(xhr.status, xhr.responseText)));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'The upload could not reach the server; check the connection and try again')));
    const form = new FormData();
    form.append('Filename', file, file.name);
    xhr.send(form);
  });
}

/** The URL that redirects (303) to the file: the file URL without its extension. */
export const redirectUrl = (href) => href.replace(/\.[^./]+$/, '');

/** A small preview: the derivative endpoint for images (a 303 to a resized WebP). */
/** A 240 px WebP: the image's derivative, or the video's poster. */
export const thumbnailUrl = (asset) =>
  asset.kind === 'video' ? `/videos/${asset.id}/poster?width=240&format=webp` : `/images/${asset.id}?width=240&format=webp`;

export function formatDuration(ms) {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function formatBytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
