import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { FIXTURES, PUBLIC_URL, TOKEN, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';
import { runCli } from '../helpers/process.js';

const ams = runCli;

const OLD = new Date(Date.now() - 3 * 86_400_000);

describe('the ams CLI', () => {
  let server: TestServer;
  let env: Record<string, string>;
  before(async () => {
    server = await startServer();
    env = { AMS_DATA_DIR: server.dataDir, AMS_TOKENS: TOKEN, AMS_PUBLIC_URL: PUBLIC_URL };
  });
  after(() => server.close());

  test('ams upload prints the asset JSON (--json: one line each); ams info reads it back', async () => {
    const files = [path.join(FIXTURES, 'photo.jpg'), path.join(FIXTURES, 'clip.mp4')];
    const res = await ams(['upload', '--url', server.url, '--token', TOKEN, '--json', ...files], {});
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.deepEqual(lines.map((l) => [l.name, l.mimeType, l.success]), [['photo.jpg', 'image/jpeg', true], ['clip.mp4', 'video/mp4', true]]);
    const info = await ams(['info', lines[0].id], env);
    assert.equal(info.code, 0, info.stderr);
    const shown = JSON.parse(info.stdout);
    assert.equal(shown.id, lines[0].id);
    assert.equal(shown.md5Checksum, lines[0].md5Checksum);
    assert.equal(shown.href, lines[0].href);
  });

  test('ams upload errors say what to do: a missing file, a refused file, a wrong token, no server', async () => {
    const missing = await ams(['upload', '--url', server.url, '--token', TOKEN, '/nonexistent/x.jpg'], {});
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read \/nonexistent\/x\.jpg \(ENOENT\); check the path/);
    const refused = await ams(['upload', '--url', server.url, '--token', TOKEN, path.join(FIXTURES, 'doc.pdf')], {});
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /doc\.pdf: Unsupported file/);
    const wrong = await ams(['upload', '--url', server.url, '--token', 'not-the-token-0123456', path.join(FIXTURES, 'photo.jpg')], {});
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /valid upload token/);
    const down = await ams(['upload', '--token', TOKEN, path.join(FIXTURES, 'photo.jpg')], { AMS_URL: 'http://127.0.0.1:1' });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:1 .*is the server running/);
    const unknown = await ams(['info', '00000000-0000-0000-0000-000000000000'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no asset 00000000-0000-0000-0000-000000000000/);
  });

  test('ams verify: 0 when intact; a blob corrupted on disk or missing → listed, exit 1', async () => {
    const ok = await ams(['verify'], env);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /0 corrupt, 0 missing/);

    const a = await json(await upload(server, await fixture('image.png'), { filename: 'a.png' }));
    const b = await json(await upload(server, await fixture('image.webp'), { filename: 'b.webp' }));
    const blobOf = async (id: string) => JSON.parse((await ams(['info', id], env)).stdout).blobKey as string;
    const aFile = path.join(server.dataDir, 'blobs', ...(await blobOf(a.id)).split('/'));
    const bFile = path.join(server.dataDir, 'blobs', ...(await blobOf(b.id)).split('/'));
    const original = await fs.readFile(aFile);
    const damaged = Buffer.from(original);
    const mid = damaged.length >> 1;
    damaged[mid] = (damaged[mid] ?? 0) ^ 0xff; // same size, one byte flipped: only the checksum can tell
    await fs.writeFile(aFile, damaged);
    await fs.rename(bFile, `${bFile}.moved`);
    try {
      const res = await ams(['verify', '--json'], env);
      assert.equal(res.code, 1);
      const out = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
      const corrupt = out.find((o) => o.problem === 'corrupt');
      const missing = out.find((o) => o.problem === 'missing');
      assert.deepEqual(corrupt?.assetIds, [a.id]);
      assert.match(corrupt?.detail, /^MD5 /);
      assert.deepEqual(missing?.assetIds, [b.id]);
      assert.equal(out.at(-1).corrupt, 1);
      assert.equal(out.at(-1).missing, 1);
      assert.match(res.stderr, /restore them from a backup/);
    } finally {
      await fs.writeFile(aFile, original);
      await fs.rename(`${bFile}.moved`, bFile);
    }
  });

  test('ams gc: --dry-run lists planted orphans; gc removes old orphans (originals, derivatives, temp) and keeps the rest', async () => {
    const kept = await json(await upload(server, await fixture('anim.gif'), { filename: 'kept.gif' }));
    const blobs = path.join(server.dataDir, 'blobs');
    const orphanSha = 'ab'.repeat(32);
    const freshSha = 'cd'.repeat(32);
    const plant = async (rel: string, mtime: Date) => {
      const p = path.join(blobs, rel);
      await fs.mkdir(path.dirname(p), { recursive: true });
      await fs.writeFile(p, 'orphan bytes');
      await fs.utimes(p, mtime, mtime);
      return p;
    };
    const orphan = await plant(`originals/ab/ab/${orphanSha}`, OLD);
    const derivative = await plant(`derivatives/ab/ab/${orphanSha}/w320.webp`, OLD);
    const keptSha = JSON.parse((await ams(['info', kept.id], env)).stdout).sha256 as string;
    // Old, but its source asset exists: a derivative is collected only with its last asset.
    const keptDerivative = await plant(`derivatives/${keptSha.slice(0, 2)}/${keptSha.slice(2, 4)}/${keptSha}/w320.webp`, OLD);
    const fresh = await plant(`originals/cd/cd/${freshSha}`, new Date());
    const staleTemp = path.join(server.dataDir, 'tmp', 'dead.upload');
    await fs.writeFile(staleTemp, 'left by a crash');
    await fs.utimes(staleTemp, OLD, OLD);

    const dry = await ams(['gc', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would remove blob originals/ab/ab/${orphanSha}`));
    assert.match(dry.stdout, new RegExp(`would remove blob derivatives/ab/ab/${orphanSha}/w320.webp`));
    assert.match(dry.stdout, /would remove temporary file .*dead\.upload/);
    for (const p of [orphan, derivative, staleTemp]) await fs.access(p);

    const res = await ams(['gc'], env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /removed 2 unreferenced blobs \(24 bytes\), 1 temporary files/);
    for (const p of [orphan, derivative, staleTemp]) await assert.rejects(fs.access(p), 'removed');
    await fs.access(fresh); // inside the grace period: an upload may be about to commit its row
    await fs.access(keptDerivative);
    // Every referenced original is still served.
    const again = await fetch(server.local(kept.href));
    assert.equal(again.status, 200);
    assert.equal((await ams(['verify'], env)).code, 0);
  });

  test('ams gc: --dry-run counts expired idempotency keys; gc removes them', async () => {
    const key = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
    const form = new FormData();
    form.append('Filename', new Blob([await fixture('photo.jpg')]), 'photo.jpg');
    const res = await fetch(`${server.url}/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}`, 'idempotency-key': key } });
    assert.equal(res.status, 201);
    const db = new Database(path.join(server.dataDir, 'ams.sqlite'));
    try {
      db.prepare('UPDATE idempotency_keys SET expires_at = 1 WHERE key LIKE ?').run(`%${key}`);
    } finally {
      db.close();
    }
    assert.match((await ams(['gc', '--dry-run'], env)).stdout, /would remove .* 1 expired idempotency keys/);
    assert.match((await ams(['gc'], env)).stdout, /removed .* 1 expired idempotency keys/);
    assert.match((await ams(['gc', '--dry-run'], env)).stdout, /would remove .* 0 expired idempotency keys/);
  });

  test('re-uploading bytes whose blob is an old orphan refreshes it, so gc cannot collect it mid-commit', async () => {
    const bytes = await fixture('image.bmp');
    const first = await json(await upload(server, bytes, { filename: 'first.bmp' }));
    const key = JSON.parse((await ams(['info', first.id], env)).stdout).blobKey as string;
    const file = path.join(server.dataDir, 'blobs', ...key.split('/'));
    await fs.utimes(file, OLD, OLD);
    assert.equal((await upload(server, bytes, { filename: 'again.bmp' })).status, 201);
    assert.ok((await fs.stat(file)).mtimeMs > Date.now() - 3_600_000, 'the existing blob was touched');
  });

  test('ams token create appends a working token to <data>/token', async () => {
    const dir = await fs.mkdtemp(path.join(server.dataDir, 'tok-'));
    const first = await ams(['token', 'create'], { AMS_DATA_DIR: dir });
    const second = await ams(['token', 'create'], { AMS_DATA_DIR: dir });
    assert.equal(first.code, 0, first.stderr);
    const lines = (await fs.readFile(path.join(dir, 'token'), 'utf8')).trim().split('\n');
    assert.deepEqual(lines, [first.stdout.trim(), second.stdout.trim()]);
    assert.equal((await fs.stat(path.join(dir, 'token'))).mode & 0o777, 0o600);
    const { resolveTokens } = await import('../../src/tokens.js');
    assert.deepEqual((await resolveTokens([], dir)).tokens, lines);
  });
});
