import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';

const CWD = path.resolve('/srv/ams');

test('AMS_DATABASE_URL selects PostgreSQL or a SQLite file', () => {
  const pgUrl = 'postgres://ams:pw@db.internal:5432/ams';
  assert.deepEqual(loadConfig({ AMS_DATABASE_URL: pgUrl }, CWD).database, { kind: 'postgres', url: pgUrl });
  assert.deepEqual(loadConfig({ AMS_DATABASE_URL: 'postgresql://db/ams' }, CWD).database, { kind: 'postgres', url: 'postgresql://db/ams' });
  assert.deepEqual(loadConfig({ AMS_DATABASE_URL: 'sqlite:meta.db' }, CWD).database, { kind: 'sqlite', file: path.join(CWD, 'data', 'meta.db') });
  assert.deepEqual(loadConfig({ AMS_DATABASE_URL: 'sqlite:/var/ams.db' }, CWD).database, { kind: 'sqlite', file: path.resolve('/var/ams.db') });
});

test('AMS_STORAGE=s3 with every setting', () => {
  const config = loadConfig(
    {
      AMS_STORAGE: 's3',
      AMS_S3_BUCKET: 'media-prod',
      AMS_S3_REGION: 'eu-west-1',
      AMS_S3_ENDPOINT: 'http://minio:9000/',
      AMS_S3_FORCE_PATH_STYLE: 'true',
      AMS_S3_PREFIX: 'ams/',
      AMS_S3_PRESIGN_TTL: '600',
      AMS_S3_PUBLIC_URL: 'https://cdn.example.com/',
    },
    CWD,
  );
  assert.deepEqual(config.storage, {
    kind: 's3',
    bucket: 'media-prod',
    region: 'eu-west-1',
    endpoint: 'http://minio:9000',
    forcePathStyle: true,
    prefix: 'ams/',
    presignTtlSeconds: 600,
    publicBaseUrl: 'https://cdn.example.com',
  });
});

test('AMS_STORAGE=s3 defaults: AWS, virtual-host style, no prefix, 1 h presigned URLs', () => {
  assert.deepEqual(loadConfig({ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'media' }, CWD).storage, {
    kind: 's3',
    bucket: 'media',
    region: 'us-east-1',
    endpoint: null,
    forcePathStyle: false,
    prefix: '',
    presignTtlSeconds: 3600,
    publicBaseUrl: null,
  });
});

// [env, the variable the problem must name]
const bad: Array<[Record<string, string>, string]> = [
  [{ AMS_DATABASE_URL: 'mysql://db/ams' }, 'AMS_DATABASE_URL'],
  [{ AMS_STORAGE: 'gcs' }, 'AMS_STORAGE'],
  [{ AMS_STORAGE: 's3' }, 'AMS_S3_BUCKET'],
  [{ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'Bad_Bucket' }, 'AMS_S3_BUCKET'],
  [{ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'b12', AMS_S3_ENDPOINT: 'minio:9000' }, 'AMS_S3_ENDPOINT'],
  [{ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'b12', AMS_S3_FORCE_PATH_STYLE: 'yes' }, 'AMS_S3_FORCE_PATH_STYLE'],
  [{ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'b12', AMS_S3_PREFIX: 'ams' }, 'AMS_S3_PREFIX'],
  [{ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'b12', AMS_S3_PREFIX: '../x/' }, 'AMS_S3_PREFIX'],
  [{ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'b12', AMS_S3_PRESIGN_TTL: '604801' }, 'AMS_S3_PRESIGN_TTL'],
  [{ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'b12', AMS_S3_PUBLIC_URL: 'ftp://cdn' }, 'AMS_S3_PUBLIC_URL'],
  [{ AMS_STORAGE: 's3', AMS_S3_BUCKET: 'b12', AMS_S3_REGION: 'eu west 1' }, 'AMS_S3_REGION'],
];
for (const [env, name] of bad) {
  test(`refused with a message naming ${name}: ${JSON.stringify(env)}`, () => {
    assert.throws(
      () => loadConfig(env, CWD),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 1 && err.problems[0]!.startsWith(name),
    );
  });
}
