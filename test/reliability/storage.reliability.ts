import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchBytes, filesUnder, noiseJpeg, rawUpload, rows, spawnServer, withComment, type ServerProcess } from './harness.js';

/**
 * Real kernel answers, not mocks: EACCES from a directory whose mode was changed under the server,
 * and ENOSPC from a small tmpfs the test mounts (CI runs as root).
 */
const mountPoint = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-tmpfs-'));
const dataDir = path.join(mountPoint, 'data');
const mount = (...args: string[]) => execFileSync('mount', args, { stdio: 'pipe' });
/** Root ignores file modes, so the unwritable-directory server runs as `nobody`. */
const NOBODY = 65534;

async function snapshot(dataDir: string) {
  return {
    blobs: (await filesUnder(path.join(dataDir, 'blobs'))).length,
    tmp: await filesUnder(path.join(dataDir, 'tmp')),
    rows: rows(dataDir).length,
  };
}

describe('the data directory becoming unwritable under a running server', () => {
  let server: ServerProcess;
  let dir: string;
  let photo: Buffer;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-ro-'));
    await fs.chown(dir, NOBODY, NOBODY);
    photo = await noiseJpeg(500, 400);
    server = await spawnServer(dir, {}, NOBODY);
  });
  after(async () => {
    await server?.kill();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('→ 503 saying to retry; stored files still served; uploads recover without a restart', async () => {
    const stored = await rawUpload(server.url, withComment(photo, 1), 'before.jpg');
    assert.equal(stored.status, 201, stored.body);
    const href = new URL(JSON.parse(stored.body).href as string).pathname;
    const before = await snapshot(dir);

    const writable = [path.join(dir, 'tmp'), path.join(dir, 'blobs')];
    for (const d of writable) await fs.chmod(d, 0o555);
    try {
      const refused = await rawUpload(server.url, withComment(photo, 2), 'ro.jpg');
      assert.equal(refused.status, 503, refused.body);
      assert.match(JSON.parse(refused.body).message, /unavailable; try again/);
      assert.equal((await fetchBytes(`${server.url}${href}`)).status, 200, 'stored files are still served');
      assert.equal((await fetch(`${server.url}/readyz`)).status, 503, 'not ready while the directory is unwritable');
    } finally {
      for (const d of writable) await fs.chmod(d, 0o755);
    }
    assert.deepEqual(await snapshot(dir), before, 'the refused upload left nothing');
    const again = await rawUpload(server.url, withComment(photo, 3), 'after.jpg');
    assert.equal(again.status, 201, again.body);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
  });
});

describe('the disk filling up under a running server', () => {
  let server: ServerProcess;
  let photo: Buffer;
  let n = 0;
  const next = () => withComment(photo, n++);

  before(async () => {
    mount('-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint);
    photo = await noiseJpeg(700, 500);
    server = await spawnServer(dataDir);
  });
  after(async () => {
    await server?.kill();
    execFileSync('umount', [mountPoint]);
    await fs.rm(mountPoint, { recursive: true, force: true });
  });

  test('a full disk → 507 (or 503), no partial asset, normal service once space is freed', async () => {
    const filler = path.join(mountPoint, 'filler');
    const { bavail, bsize } = await fs.statfs(mountPoint);
    // Leave less room than one upload needs.
    await fs.writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - 64 * 1024)));
    const before = await snapshot(dataDir);
    try {
      for (let i = 0; i < 3; i++) {
        const refused = await rawUpload(server.url, next(), `full-${i}.jpg`);
        assert.ok(refused.status === 507 || refused.status === 503, `status ${refused.status}: ${refused.body}`);
        assert.match(JSON.parse(refused.body).message, /full|unavailable/);
      }
      assert.deepEqual(await snapshot(dataDir), before, 'nothing left behind by refused uploads');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await fs.rm(filler, { force: true });
    }
    const again = await rawUpload(server.url, next(), 'freed.jpg');
    assert.equal(again.status, 201, again.body);
  });
});
