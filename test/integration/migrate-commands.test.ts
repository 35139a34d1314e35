import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { openBlobStore } from '../../src/blob/open.js';
import type { BlobStore } from '../../src/blob/store.js';
import { loadConfig } from '../../src/config.js';
import { createTestDatabase, NO_POSTGRES } from '../helpers/postgres.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { CLI, runScript } from '../helpers/process.js';
import { fixture, json, startServer, upload } from '../helpers/server.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** Runs the compiled `ams` with exactly `env` (plus PATH), logs included. */
const ams = (args: string[], env: Record<string, string>) => runScript(CLI, args, env);

/** Uploads each fixture through a server on the embedded defaults (SQLite + disk) in `dataDir`; returns the asset JSON. */
async function seed(dataDir: string, names: string[]): Promise<Array<{ json: any; bytes: Buffer }>> {
  const server = await startServer({ AMS_DATA_DIR: dataDir });
  try {
    const out = [];
    for (const name of names) {
      const bytes = await fixture(name);
      const res = await upload(server, bytes, { filename: name });
      assert.equal(res.status, 201);
      out.push({ json: await json(res), bytes });
    }
    return out;
  } finally {
    await server.close();
  }
}

describe('ams migrate-storage: the local disk to S3, verified, resumable', () => {
  let s3: TestS3;
  let dataDir: string;
  let bucket: { blobs: BlobStore; close(): void };
  before(async () => {
    s3 = await startS3();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-migrate-'));
    bucket = await openBlobStore(loadConfig({ ...s3.env('x/'), AMS_DATA_DIR: dataDir }).storage);
  });
  after(async () => {
    bucket.close();
    await s3.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  test('copies every file, then a server on S3 serves the same assets byte for byte', async () => {
    // Four uploads, three distinct contents: three files to move.
    const assets = await seed(dataDir, ['photo.jpg', 'clip.webm', 'image.png', 'photo.jpg']);
    const env = { AMS_DATA_DIR: dataDir, ...s3.env('x/') };
    const run = await ams(['migrate-storage', '--from', 'fs', '--to', 's3'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^3 files: 3 copied \(\d+ bytes\), 0 already there, 0 failed$/m);
    assert.match(run.stderr, /copying \[.*\] 3\/3 files/);

    const server = await startServer(env);
    try {
      for (const { json: a, bytes } of assets) {
        const file = await fetch(server.local(a.href));
        assert.equal(file.status, 200);
        const got = Buffer.from(await file.arrayBuffer());
        assert.equal(md5(got), a.md5Checksum);
        assert.ok(got.equals(bytes));
      }
      const first = assets[0]!.json;
      const redirect = await fetch(`${server.url}/images/${first.id}`, { redirect: 'manual' });
      assert.ok((redirect.headers.get('location') ?? '').startsWith(`${s3.endpoint}/`));
    } finally {
      await server.close();
    }
  });

  test('a rerun copies only what is missing (resume), and refuses to spread a damaged source file', async () => {
    const env = { AMS_DATA_DIR: dataDir, ...s3.env('x/') };
    const keys: string[] = [];
    for await (const e of bucket.blobs.list('')) keys.push(e.key);
    assert.equal(keys.length, 3);
    // An interrupted run: one file never arrived.
    await bucket.blobs.delete(keys[0]!);
    const resumed = await ams(['migrate-storage', '--from', 'fs', '--to', 's3'], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^3 files: 1 copied \(\d+ bytes\), 2 already there, 0 failed$/m);

    // Damage one source file in place (same size), and remove its copy so it must be copied again.
    const damaged = keys[1]!;
    const onDisk = path.join(dataDir, 'blobs', ...damaged.split('/'));
    const bytes = await fs.readFile(onDisk);
    const mid = bytes.length >> 1;
    bytes[mid] = (bytes[mid] ?? 0) ^ 0xff;
    await fs.writeFile(onDisk, bytes);
    await bucket.blobs.delete(damaged);
    const refused = await ams(['migrate-storage', '--from', 'fs', '--to', 's3'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`FAILED ${damaged}: .*damaged`));
    assert.match(refused.stdout, /^3 files: 0 copied \(0 bytes\), 2 already there, 1 failed$/m);
    await assert.rejects(bucket.blobs.stat(damaged));
  });

  test('and back: s3 → another data directory holds the same files, byte for byte', async () => {
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-migrate-back-'));
    try {
      const run = await ams(['migrate-storage', '--from', 's3', '--to', `fs:${other}`], { AMS_DATA_DIR: dataDir, ...s3.env('x/') });
      assert.equal(run.code, 0, run.stderr);
      const back = (await openBlobStore({ kind: 'fs', root: path.join(other, 'blobs') })).blobs;
      let n = 0;
      for await (const e of bucket.blobs.list('')) {
        const [a, b] = await Promise.all([bucket.blobs.get(e.key), back.get(e.key)]);
        const [x, y] = await Promise.all([buffer(a), buffer(b)]);
        assert.ok(x.equals(y), e.key);
        n++;
      }
      assert.ok(n >= 2);
      assert.match(run.stdout, new RegExp(`^${n} files: ${n} copied`, 'm'));
    } finally {
      await fs.rm(other, { recursive: true, force: true });
    }
  });

  test('bad arguments and incomplete S3 settings are refused with a message', async () => {
    const same = await ams(['migrate-storage', '--from', 'fs', '--to', 'fs'], { AMS_DATA_DIR: dataDir });
    assert.equal(same.code, 1);
    assert.match(same.stderr, /same store/);
    const noBucket = await ams(['migrate-storage', '--from', 'fs', '--to', 's3'], { AMS_DATA_DIR: dataDir });
    assert.equal(noBucket.code, 1);
    assert.match(noBucket.stderr, /AMS_S3_BUCKET/);
    const unknown = await ams(['migrate-storage', '--from', 'ftp', '--to', 's3'], { AMS_DATA_DIR: dataDir });
    assert.match(unknown.stderr, /unknown store "ftp"/);
  });
});

describe('ams migrate-db: SQLite to PostgreSQL, verified, resumable', { skip: NO_POSTGRES }, () => {
  test('copies every row; a rerun inserts nothing; a server on Postgres returns the same assets', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-migrate-db-'));
    const db = await createTestDatabase();
    try {
      const assets = await seed(dataDir, ['photo.jpg', 'clip.mp4', 'photo.jpg']);
      const env = { AMS_DATA_DIR: dataDir, AMS_DATABASE_URL: db.url };
      const first = await ams(['migrate-db'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^3 rows from sqlite:.* to postgres:.*: 3 inserted, 0 already there, 0 conflicting$/m);
      const again = await ams(['migrate-db'], env);
      assert.match(again.stdout, /: 0 inserted, 3 already there, 0 conflicting$/m);

      const server = await startServer(env);
      try {
        for (const { json: a } of assets) {
          const { success, ...published } = a;
          assert.equal(success, true);
          // Placeholders are made in the background after the 201: whether a row had them when it
          // was copied is timing, so they are left out of the comparison.
          const { thumbhash, dominantColor, ...got } = await json(await fetch(`${server.url}/assets/${a.id}`));
          assert.deepEqual(got, published);
        }
      } finally {
        await server.close();
      }
    } finally {
      await db.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  test('ams migrate brings an empty database to the latest schema', async () => {
    const db = await createTestDatabase();
    try {
      const res = await ams(['migrate'], { AMS_DATABASE_URL: db.url, AMS_DATA_DIR: os.tmpdir() });
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /is at the latest schema/);
    } finally {
      await db.drop();
    }
  });
});
