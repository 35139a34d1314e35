import { BlobNotFound, StorageUnavailable } from '../errors.js';

/** Translates an errno into the store's domain errors; unknown errors pass through. */
export function storageError(err: unknown, key?: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' && key !== undefined) return new BlobNotFound(key);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageUnavailable('no space left in the blob store', true, { cause: err });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'EIO' || code === 'ENOENT') {
    return new StorageUnavailable(`blob store unusable (${code})`, false, { cause: err });
  }
  return err;
}
