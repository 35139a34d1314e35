import type { StorageConfig } from '../config-backends.js';
import { FsBlobStore } from './fs.js';
import type { BlobStore } from './store.js';

/**
 * The blob store the configuration names, and how to release it. The AWS SDK is loaded only when
 * S3 is configured: it is ~5 MB of heap that every garbage collection would otherwise mark again
 * (a 1 GiB upload runs dozens of them as its chunks come and go).
 */
export async function openBlobStore(config: StorageConfig): Promise<{ blobs: BlobStore; close(): void }> {
  if (config.kind === 'fs') return { blobs: new FsBlobStore(config.root), close() {} };
  const [{ createS3Client }, { S3BlobStore }] = await Promise.all([import('./s3-client.js'), import('./s3.js')]);
  const client = createS3Client(config);
  const blobs = new S3BlobStore({ client, bucket: config.bucket, prefix: config.prefix, publicBaseUrl: config.publicBaseUrl });
  return { blobs, close: () => client.destroy() };
}
