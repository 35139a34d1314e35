import path from 'node:path';

/**
 * The backend choices of the configuration (issue "Scale-out"): where rows and bytes live. Parsed
 * by `loadConfig` from the variables it hands in; kept apart so config.ts stays one screen long.
 */
export type DatabaseConfig = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export type StorageConfig =
  | { kind: 'fs'; root: string }
  | {
      kind: 's3';
      bucket: string;
      /** Any string is accepted by S3-compatible servers; AWS needs the bucket's region. */
      region: string;
      /** null: AWS itself. Set for MinIO, Ceph RGW, R2… */
      endpoint: string | null;
      /** Path-style URLs (`host/bucket/key`): MinIO and most self-hosted servers need them. */
      forcePathStyle: boolean;
      /** Prepended to every key, so one bucket can hold several AMS installations. */
      prefix: string;
      /** Lifetime of the presigned URLs that /images/{id} and /videos/{id} redirect to. */
      presignTtlSeconds: number;
      /** When set, redirects go to `<base>/<prefix><key>` (a CDN or public bucket) instead of a presigned URL. */
      publicBaseUrl: string | null;
    };

type Raw = (name: string) => string | undefined;

function httpUrl(value: string): URL | null {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
  } catch {
    return null;
  }
}

export function parseDatabase(raw: Raw, dataDir: string, problems: string[]): DatabaseConfig {
  const url = raw('AMS_DATABASE_URL');
  if (url === undefined) return { kind: 'sqlite', file: path.join(dataDir, 'ams.sqlite') };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  if (url.startsWith('sqlite:') && url.length > 'sqlite:'.length) {
    return { kind: 'sqlite', file: path.resolve(dataDir, url.slice('sqlite:'.length)) };
  }
  problems.push('AMS_DATABASE_URL: expected postgres://user:password@host:5432/db or sqlite:<file> (empty: SQLite in the data directory)');
  return { kind: 'sqlite', file: path.join(dataDir, 'ams.sqlite') };
}

export function parseStorage(
  raw: Raw,
  int: (name: string, fallback: number, min: number, max?: number) => number,
  dataDir: string,
  problems: string[],
): StorageConfig {
  const kind = raw('AMS_STORAGE') ?? 'fs';
  if (kind !== 's3') {
    if (kind !== 'fs') problems.push(`AMS_STORAGE=${JSON.stringify(kind)}: expected fs or s3`);
    return { kind: 'fs', root: path.join(dataDir, 'blobs') };
  }
  const bucket = raw('AMS_S3_BUCKET') ?? '';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    problems.push('AMS_S3_BUCKET: required with AMS_STORAGE=s3; a bucket name of 3-63 lowercase letters, digits, dots and hyphens');
  }
  const endpointRaw = raw('AMS_S3_ENDPOINT');
  let endpoint: string | null = null;
  if (endpointRaw !== undefined) {
    const u = httpUrl(endpointRaw);
    if (u === null) problems.push(`AMS_S3_ENDPOINT=${JSON.stringify(endpointRaw)}: expected an http(s) URL, e.g. http://minio:9000`);
    else endpoint = endpointRaw.replace(/\/+$/, '');
  }
  const pathStyle = (raw('AMS_S3_FORCE_PATH_STYLE') ?? 'false').toLowerCase();
  if (!['true', 'false', '1', '0'].includes(pathStyle)) problems.push('AMS_S3_FORCE_PATH_STYLE: expected true or false');
  const prefix = raw('AMS_S3_PREFIX') ?? '';
  if (prefix !== '' && !/^[a-z0-9][a-z0-9._/-]*\/$/.test(prefix)) {
    problems.push(`AMS_S3_PREFIX=${JSON.stringify(prefix)}: expected lowercase path segments ending in "/", e.g. ams/`);
  }
  const publicRaw = raw('AMS_S3_PUBLIC_URL');
  let publicBaseUrl: string | null = null;
  if (publicRaw !== undefined) {
    if (httpUrl(publicRaw) === null) problems.push(`AMS_S3_PUBLIC_URL=${JSON.stringify(publicRaw)}: expected an http(s) URL, e.g. https://cdn.example.com`);
    else publicBaseUrl = publicRaw.replace(/\/+$/, '');
  }
  // The SDK puts the region into host names and refuses anything else only when the first request is made.
  const region = raw('AMS_S3_REGION') ?? 'us-east-1';
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(region)) {
    problems.push(`AMS_S3_REGION=${JSON.stringify(region)}: expected a region name such as eu-west-1 (or auto for R2)`);
  }
  return {
    kind: 's3',
    bucket,
    region,
    endpoint,
    forcePathStyle: pathStyle === 'true' || pathStyle === '1',
    prefix,
    // SigV4 caps presigned URLs at 7 days.
    presignTtlSeconds: int('AMS_S3_PRESIGN_TTL', 3600, 1, 604_800),
    publicBaseUrl,
  };
}
