import { S3Client } from '@aws-sdk/client-s3';
import type { StorageConfig } from '../config-backends.js';

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
