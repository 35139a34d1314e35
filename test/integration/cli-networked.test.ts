import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PUBLIC_URL, TOKEN, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';
import { runCli } from '../helpers/process.js';
import { NO_POSTGRES, createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { TEST_BUCKET, startS3, type TestS3 } from '../helpers/s3.js';

const ams = runCli;

// The maintenance commands on the networked backends: rows in PostgreSQL, bytes in S3.
describe('ams verify and ams gc on PostgreSQL + S3', { skip: NO_POSTGRES }, () => {
  let s3: TestS3;
  let database: TestDatabase;
  let server: TestServer;
  let env: Record<string, string>;
  let client: S3Client;
  const PREFIX = 'ops/';
  before(async () => {
    s3 = await startS3();
    database = await createTestDatabase();
    env = { ...s3.env(PREFIX), AMS_DATABASE_URL: database.url, AMS_TOKENS: TOKEN, AMS_PUBLIC_URL: PUBLIC_URL, AMS_GC_GRACE_S: '0' };
    server = await startServer(env);
    env.AMS_DATA_DIR = server.dataDir;
    client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  });
  after(async () => {
    client?.destroy();
    await server?.close();
    await database?.drop();
    await s3?.close();
  });

  test('verify finds an object overwritten in the bucket; gc removes a planted orphan and keeps referenced objects', async () => {
    const a = await json(await upload(server, await fixture('image.png'), { filename: 'a.png' }));
    const b = await json(await upload(server, await fixture('photo.jpg'), { filename: 'b.jpg' }));
    assert.equal((await ams(['verify'], env)).code, 0);

    const bKey = JSON.parse((await ams(['info', b.id], env)).stdout).blobKey as string;
    const photo = await fixture('photo.jpg');
    const damaged = Buffer.from(photo);
    damaged[100] = (damaged[100] ?? 0) ^ 0xff;
    await client.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: `${PREFIX}${bKey}`, Body: damaged }));
    const verify = await ams(['verify', '--json'], env);
    assert.equal(verify.code, 1, verify.stdout + verify.stderr);
    const problems = verify.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(problems[0].assetIds, [b.id]);
    assert.equal(problems[0].problem, 'corrupt');
    await client.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: `${PREFIX}${bKey}`, Body: photo }));

    const orphan = `originals/ee/ee/${'ee'.repeat(32)}`;
    await client.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: `${PREFIX}${orphan}`, Body: 'orphan' }));
    const gc = await ams(['gc'], env);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, new RegExp(`removed blob ${orphan}`));
    assert.match(gc.stdout, /removed 1 unreferenced blobs/);
    assert.equal((await ams(['verify'], env)).code, 0, 'every referenced object is still there');
    assert.equal((await fetch(server.local(a.href))).status, 200);
  });
});
