import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { TOKEN, fixture, json, startServer, type TestServer } from '../helpers/server.js';

function post(server: TestServer, bytes: Buffer, headers: Record<string, string> = {}) {
  const form = new FormData();
  form.append('Filename', new Blob([bytes]), 'photo.jpg');
  return fetch(`${server.url}/assets`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
}

const sha256b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
const md5b64 = (b: Buffer) => createHash('md5').update(b).digest('base64');

describe('Idempotency-Key and digests', () => {
  let server: TestServer;
  let photo: Buffer;
  let png: Buffer;
  before(async () => {
    server = await startServer({ AMS_IDEMPOTENCY_TTL_S: '2' });
    photo = await fixture('photo.jpg');
    png = await fixture('image.png');
  });
  after(() => server.close());

  test('a retry with the same key and bytes returns the original 201 body, not a second asset', async () => {
    const first = await post(server, photo, { 'idempotency-key': 'order-1' });
    assert.equal(first.status, 201);
    const original = await json(first);
    const retry = await post(server, photo, { 'idempotency-key': 'order-1' });
    assert.equal(retry.status, 201);
    assert.deepEqual(await json(retry), original);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const other = await json(await post(server, photo, { 'idempotency-key': 'order-2' }));
    assert.notEqual(other.id, original.id, 'another key is another asset');
  });

  test('the same key with different bytes → 422, nothing new stored', async () => {
    await post(server, photo, { 'idempotency-key': 'order-3' });
    const before = await server.storedFiles();
    const res = await post(server, png, { 'idempotency-key': 'order-3' });
    assert.equal(res.status, 422);
    assert.equal((await json(res)).code, 'IDEMPOTENCY_KEY_REUSED');
    assert.deepEqual(await server.storedFiles(), before);
  });

  test('keys expire: after the TTL the same key makes a new asset', async () => {
    const first = await json(await post(server, photo, { 'idempotency-key': 'order-4' }));
    // Bounded wait past the 2 s TTL (the key's expiry is stored as an absolute time).
    await new Promise((r) => setTimeout(r, 2100));
    const later = await post(server, png, { 'idempotency-key': 'order-4' });
    assert.equal(later.status, 201);
    assert.notEqual((await json(later)).id, first.id);
  });

  test('a malformed key → 400 before anything is read', async () => {
    const res = await post(server, photo, { 'idempotency-key': 'x'.repeat(300) });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).code, 'BAD_IDEMPOTENCY_KEY');
  });

  test('matching Content-MD5 and Repr-Digest / Content-Digest are accepted', async () => {
    const res = await post(server, png, {
      'content-md5': md5b64(png),
      'repr-digest': `sha-256=:${sha256b64(png)}:`,
      'content-digest': `sha-512=:AAAA:, sha-256=:${sha256b64(png)}:`,
    });
    assert.equal(res.status, 201);
  });

  for (const [name, header, value] of [
    ['Content-MD5', 'content-md5', () => md5b64(photo)],
    ['Repr-Digest', 'repr-digest', () => `sha-256=:${sha256b64(photo)}:`],
    ['Content-Digest', 'content-digest', () => `sha-256=:${sha256b64(photo)}:`],
  ] as const) {
    test(`a ${name} mismatch → 400 and nothing stored`, async () => {
      const fresh = await startServer();
      try {
        const res = await post(fresh, png, { [header]: value() });
        assert.equal(res.status, 400);
        const body = await json(res);
        assert.equal(body.code, 'DIGEST_MISMATCH');
        assert.match(body.message, new RegExp(name));
        assert.deepEqual(await fresh.storedFiles(), []);
      } finally {
        await fresh.close();
      }
    });
  }

  test('a malformed digest header → 400 naming the format', async () => {
    const res = await post(server, png, { 'repr-digest': 'sha-256=nocolons' });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).code, 'BAD_DIGEST_HEADER');
  });
});
