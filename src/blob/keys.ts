/**
 * Blob keys. The public asset id, the content hash and the blob key are three different things:
 * many assets may share one hash, and the key is where that hash's bytes live in a store.
 */
const HEX64 = /^[0-9a-f]{64}$/;

/** Key of an original upload: content-addressed by SHA-256, fanned out so no directory grows huge. */
export function originalKey(sha256: string): string {
  if (!HEX64.test(sha256)) throw new Error(`not a SHA-256 hex digest: ${sha256}`);
  return `originals/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

// Segments start with [a-z0-9], so "." and ".." can never appear.
const SAFE_KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/** Keys are built by us, never by clients; refusing anything else keeps every backend inside its root. */
export function assertSafeKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.length > 512) {
    throw new Error(`unsafe blob key: ${JSON.stringify(key)}`);
  }
}

/**
 * Key of a derivative: under its source's SHA-256 (so `ams gc` finds every derivative of a source by
 * the prefix `derivatives/aa/bb/<sha256>/`), named by its canonical parameters (see variant-spec.ts).
 * `width=240&height=240&fit=contain` becomes `width-240_height-240_fit-contain`; none becomes `full`.
 */
export function derivativeKey(sourceSha256: string, canonicalParams: string, ext: string): string {
  if (!HEX64.test(sourceSha256)) throw new Error(`not a SHA-256 hex digest: ${sourceSha256}`);
  const name = canonicalParams === '' ? 'full' : canonicalParams.replaceAll('=', '-').replaceAll('&', '_');
  const key = `derivatives/${sourceSha256.slice(0, 2)}/${sourceSha256.slice(2, 4)}/${sourceSha256}/${name}.${ext}`;
  assertSafeKey(key);
  return key;
}
