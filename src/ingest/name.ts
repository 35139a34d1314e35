const MAX_NAME_BYTES = 200;

/**
 * The client's file name made safe to store and show: no directories (either slash), no control
 * or bidi-override characters, NFC, at most 200 UTF-8 bytes with the extension kept.
 * Returns null when nothing usable is left, so the caller can fall back to `{id}.{ext}`.
 */
export function safeFileName(raw: string | undefined): string | null {
  if (!raw) return null;
  const base = raw.split(/[\\/]/).pop() ?? '';
  const clean = base
    .normalize('NFC')
    // C0/C1 controls, DEL, and the Unicode format characters used to disguise names (RLO etc.).
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .trim()
    .replace(/^\.+/, '');
  if (clean === '') return null;
  if (Buffer.byteLength(clean) <= MAX_NAME_BYTES) return clean;
  const dot = clean.lastIndexOf('.');
  const ext = dot > 0 && clean.length - dot <= 10 ? clean.slice(dot) : '';
  // One pass over code points (never splits a surrogate pair); names can be ~80 KB (the
  // multipart header limit), so re-measuring after each dropped character would be quadratic.
  let stem = '';
  let used = Buffer.byteLength(ext);
  for (const ch of clean.slice(0, clean.length - ext.length)) {
    used += Buffer.byteLength(ch);
    if (used > MAX_NAME_BYTES) break;
    stem += ch;
  }
  return stem + ext;
}
