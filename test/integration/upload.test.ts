import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { PUBLIC_URL, expected, fixture, multipartBody, postRaw, startServer, upload, type TestServer, json } from '../helpers/server.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('POST /assets and GET /assets/{id}: the published contract', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  for (const [name, want] of Object.entries(expected)) {
    test(`${name}: 201 with the exact published body, values from the bytes`, async () => {
      const bytes = await fixture(name);
      const res = await upload(server, bytes, { filename: name, contentType: 'image/png' });
      assert.equal(res.status, 201, await res.clone().text());
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = await json(res);
      assert.deepEqual(Object.keys(body).slice(0, 8), ['id', 'name', 'height', 'width', 'href', 'md5Checksum', 'mimeType', 'success']);
      // Optional placeholder fields may follow the published ones (test/integration/placeholders.test.ts).
      const { thumbhash: _t, dominantColor: _d, durationMs: _ms, ...publishedBody } = body;
      assert.deepEqual(Object.keys(publishedBody).length, 8);
      assert.match(body.id, UUID);
      const route = want.kind === 'image' ? 'images' : 'videos';
      assert.deepEqual(publishedBody, {
        id: body.id,
        name,
        height: want.height,
        width: want.width,
        href: `${PUBLIC_URL}/${route}/${body.id}.${want.ext}`,
        md5Checksum: md5(bytes),
        mimeType: want.mimeType,
        success: true,
      });
      assert.equal(res.headers.get('location'), `/assets/${body.id}`);

      const got = await fetch(`${server.url}/assets/${body.id}`);
      assert.equal(got.status, 200);
      const { success, ...published } = body;
      assert.equal(success, true);
      assert.deepEqual(await json(got), published);

      const redirect = await fetch(`${server.url}/${route}/${body.id}`, { redirect: 'manual' });
      assert.equal(redirect.status, 303);
      assert.equal(redirect.headers.get('location'), body.href);
      const file = await fetch(server.local(body.href));
      assert.equal(file.status, 200);
      assert.equal(file.headers.get('content-type'), want.mimeType);
      assert.ok(Buffer.from(await file.arrayBuffer()).equals(bytes), 'the file URL serves the exact uploaded bytes');
    });
  }

  test('the type comes from the bytes: a JPEG sent as image/png named .png is image/jpeg', async () => {
    const res = await upload(server, await fixture('photo.jpg'), { filename: 'looks-like.png', contentType: 'image/png' });
    assert.equal(res.status, 201);
    const body = await json(res);
    assert.equal(body.mimeType, 'image/jpeg');
    assert.equal(body.name, 'looks-like.png');
    assert.match(body.href, /\.jpg$/);
  });

  test('a PNG sent as video/mp4 with a .mp4 name is still an image, and /videos refuses it', async () => {
    const res = await upload(server, await fixture('image.png'), { filename: 'clip.mp4', contentType: 'video/mp4' });
    const body = await json(res);
    assert.equal(body.mimeType, 'image/png');
    const wrong = await fetch(`${server.url}/videos/${body.id}`, { redirect: 'manual' });
    assert.equal(wrong.status, 400);
    assert.equal(
      (await json(wrong)).message,
      'Ensure the Asset is of the correct type for the action (i.e. an image for /images endpoints)',
    );
  });

  test('/images of a video is refused with the published wording', async () => {
    const body = await json(await upload(server, await fixture('clip.mp4'), { filename: 'c.mp4' }));
    const res = await fetch(`${server.url}/images/${body.id}`, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.deepEqual(await json(res), {
      statusCode: 400,
      error: 'Bad Request',
      code: 'WRONG_ASSET_TYPE',
      message: 'Ensure the Asset is of the correct type for the action (i.e. an image for /images endpoints)',
    });
  });

  test('the file part is accepted under any field name, and other fields are ignored', async () => {
    const bytes = await fixture('photo.jpg');
    const { body, contentType } = multipartBody([
      { field: 'description', data: 'a product photo' },
      { field: 'upload', filename: 'p.jpg', contentType: 'image/jpeg', data: bytes },
      { field: 'after', data: 'x' },
    ]);
    const res = await postRaw(server, body, contentType);
    assert.equal(res.status, 201);
    assert.equal((await json(res)).md5Checksum, md5(bytes));
  });

  test('names are made safe: no path, no control or bidi characters', async () => {
    const bytes = await fixture('photo.jpg');
    const { body, contentType } = multipartBody([
      { field: 'Filename', filename: '../../etc/pass\u0007wd\u202Egpj.jpg', contentType: 'image/jpeg', data: bytes },
    ]);
    const res = await postRaw(server, body, contentType);
    assert.equal(res.status, 201);
    assert.equal((await json(res)).name, 'passwdgpj.jpg');
  });

  test('a part without a file name gets {id}.{ext}', async () => {
    const { body, contentType } = multipartBody([
      { field: 'Filename', filename: '', contentType: 'image/png', data: await fixture('image.png') },
    ]);
    const res = await postRaw(server, body, contentType);
    assert.equal(res.status, 201, await res.clone().text());
    const created = await json(res);
    assert.equal(created.name, `${created.id}.png`);
  });

  test('identical bytes: two assets, two ids, one stored blob', async () => {
    const bytes = await sharp({ create: { width: 33, height: 17, channels: 3, background: '#3a7' } }).webp().toBuffer();
    const before = (await server.storedFiles()).length;
    const a = await json(await upload(server, bytes, { filename: 'a.webp' }));
    const b = await json(await upload(server, bytes, { filename: 'b.webp' }));
    assert.notEqual(a.id, b.id);
    assert.equal(a.md5Checksum, b.md5Checksum);
    assert.equal((await server.storedFiles()).length, before + 1);
    assert.equal((await json(await fetch(`${server.url}/assets/${b.id}`))).name, 'b.webp');
  });

  test('once its 201 has arrived, an upload has left no temporary file behind', async () => {
    const photo = await fixture('photo.jpg');
    const tmp = path.join(server.dataDir, 'tmp');
    for (let i = 0; i < 40; i++) {
      // Distinct bytes each time (a COM segment after SOI): a new blob, a new link.
      const bytes = Buffer.concat([photo.subarray(0, 2), Buffer.from([0xff, 0xfe, 0x00, 0x06]), Buffer.from(`t${String(i).padStart(3, '0')}`), photo.subarray(2)]);
      const res = await upload(server, bytes);
      assert.equal(res.status, 201, await res.text());
      assert.deepEqual(await fs.readdir(tmp), [], `after upload ${i}`);
    }
  });

  test("GET /assets/{id} has an ETag that follows the JSON: 304 while it holds, a new tag when the JSON changes", async () => {
    const created = await json(await upload(server, await fixture('photo.jpg')));
    const url = `${server.url}/assets/${created.id}`;
    const first = await fetch(url);
    const etag = first.headers.get('etag') ?? '';
    assert.match(etag, /^"[\w-]{27}"$/);
    assert.equal(first.headers.get('cache-control'), 'no-cache');
    const firstBody = await first.text();
    const revalidated = await fetch(url, { headers: { 'if-none-match': etag } });
    assert.equal(revalidated.status, 304);
    assert.equal(await revalidated.text(), '');
    assert.equal(revalidated.headers.get('etag'), etag);
    // Placeholders are added after the 201: once they are in the JSON, the tag has changed with it.
    let later = firstBody;
    for (let i = 0; i < 100 && !later.includes('thumbhash'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      later = await (await fetch(url)).text();
    }
    assert.ok(later.includes('thumbhash'), 'placeholders were made');
    const changed = await fetch(url, { headers: { 'if-none-match': etag } });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('etag'), etag);
    assert.equal(await changed.text(), later);
  });

  test('an id is case-insensitive GUID text', async () => {
    const body = await json(await upload(server, await fixture('image.bmp'), { filename: 'x.bmp' }));
    const res = await fetch(`${server.url}/assets/${body.id.toUpperCase()}`);
    assert.equal(res.status, 200);
    assert.equal((await json(res)).id, body.id);
  });
});
