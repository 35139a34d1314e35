import { S3Client } from '@aws-sdk/client-s3';
import type { StorageConfig } from '../config-backends.js';
import { FsBlobStore } from './fs.js';
import { S3BlobStore } from './s3.js';
import type { BlobStore } from './store.js';

/** An S3 client for AMS: credentials from the standard AWS chain (AWS_ACCESS_KEY_ID…, profiles, instance roles). */
export function createS3Client(config: Extract<StorageConfig, { kind: 's3' }>): S3Client {
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint ?? undefined,
    forcePathStyle: config.forcePathStyle,
    // One retry, short connect timeout: when storage is down, clients get a quick 503, not a hung request.
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3000 },
    // Newer SDKs add CRC checksums (and aws-chunked bodies) to every upload; several S3-compatible
    // servers reject them. Our own MD5/SHA-256 of the temp file is the integrity check that counts.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The blob store the configuration names, and how to release it. */
export function openBlobStore(config: StorageConfig): { blobs: BlobStore; close(): void } {
  if (config.kind === 'fs') return { blobs: new FsBlobStore(config.root), close() {} };
  const client = createS3Client(config);
  const blobs = new S3BlobStore({ client, bucket: config.bucket, prefix: config.prefix, publicBaseUrl: config.publicBaseUrl });
  return { blobs, close: () => client.destroy() };
}
