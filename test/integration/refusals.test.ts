import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fixture, multipartBody, postRaw, startServer, upload, type TestServer, json } from '../helpers/server.js';

/** Every refusal: its status, its code, a message that says what to do — and nothing left behind. */
describe('refused uploads and lookups', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ AMS_MAX_UPLOAD_BYTES: '200000' });
  });
  after(() => server.close());

  async function expectError(res: Response, status: number, code: string, message: RegExp | string) {
    assert.equal(res.status, status);
    const body = await json(res);
    assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode']);
    assert.equal(body.statusCode, status);
    assert.equal(body.code, code);
    if (typeof message === 'string') assert.equal(body.message, message);
    else assert.match(body.message, message);
    assert.deepEqual(await server.storedFiles(), [], 'a refused upload leaves no file');
  }

  test('no token → 401 with WWW-Authenticate: Bearer', async () => {
    const res = await upload(server, await fixture('photo.jpg'), { token: null });
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    await expectError(res, 401, 'UNAUTHORIZED', /Authorization: Bearer/);
  });

  test('a wrong token → 401', async () => {
    const res = await upload(server, await fixture('photo.jpg'), { token: 'wrong-token-wrong-token' });
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    await expectError(res, 401, 'UNAUTHORIZED', /not valid/);
  });

  test('Basic auth instead of Bearer → 401', async () => {
    const res = await fetch(`${server.url}/assets`, { method: 'POST', headers: { authorization: 'Basic dTpw' } });
    await expectError(res, 401, 'UNAUTHORIZED', /Bearer/);
  });

  test('no file part → 400 Ensure file was attached to request', async () => {
    const { body, contentType } = multipartBody([{ field: 'note', data: 'no file here' }]);
    await expectError(await postRaw(server, body, contentType), 400, 'NO_FILE', 'Ensure file was attached to request');
  });

  test('a 0-byte file → 400 Ensure file was attached to request', async () => {
    await expectError(await upload(server, Buffer.alloc(0), { filename: 'empty.jpg' }), 400, 'NO_FILE', 'Ensure file was attached to request');
  });

  test('a body that is not multipart → 400 Ensure file was attached to request', async () => {
    await expectError(await postRaw(server, '{"a":1}', 'application/json'), 400, 'NO_FILE', 'Ensure file was attached to request');
    await expectError(await postRaw(server, await fixture('photo.jpg'), 'image/jpeg'), 400, 'NO_FILE', 'Ensure file was attached to request');
    await expectError(
      await fetch(`${server.url}/assets`, { method: 'POST', headers: { authorization: 'Bearer test-token-0123456789abcdef' } }),
      400,
      'NO_FILE',
      'Ensure file was attached to request',
    );
  });

  test('two file parts → 400 Ensure you are only uploading one Asset at a time', async () => {
    const jpg = await fixture('photo.jpg');
    const { body, contentType } = multipartBody([
      { field: 'Filename', filename: 'a.jpg', contentType: 'image/jpeg', data: jpg },
      { field: 'Filename', filename: 'b.jpg', contentType: 'image/jpeg', data: jpg },
    ]);
    await expectError(await postRaw(server, body, contentType), 400, 'TOO_MANY_FILES', 'Ensure you are only uploading one Asset at a time');
  });

  test('three file parts under different names → 400 one at a time', async () => {
    const png = await fixture('image.png');
    const { body, contentType } = multipartBody(
      ['a', 'b', 'c'].map((f) => ({ field: f, filename: `${f}.png`, contentType: 'image/png', data: png })),
    );
    await expectError(await postRaw(server, body, contentType), 400, 'TOO_MANY_FILES', 'Ensure you are only uploading one Asset at a time');
  });

  for (const [name, what] of [
    ['not-image.zip', /application\/zip/],
    ['doc.pdf', /application\/pdf/],
    ['prog.elf', /elf/],
    ['page.html', /unrecognised|html/],
  ] as const) {
    test(`${name} under an image name → 400 naming what is accepted`, async () => {
      const res = await upload(server, await fixture(name), { filename: 'photo.jpg', contentType: 'image/jpeg' });
      const body = await json(res.clone());
      assert.match(body.message, what);
      await expectError(res, 400, 'UNSUPPORTED_MEDIA', /JPEG, PNG, GIF, WebP, AVIF, TIFF, BMP.*MP4, MOV, WebM, MKV, AVI/);
    });
  }

  for (const [name, what] of [
    ['audio.mp3', 'audio/mpeg'],
    ['audio-only.mp4', 'video/mp4'],
    ['audio-only.webm', 'video/webm'],
  ] as const) {
    test(`${name} (sound only) → 400 unsupported, saying an asset is an image or a video, not "corrupt"`, async () => {
      const res = await upload(server, await fixture(name), { filename: name });
      const message = new RegExp(`\\(${what}.*sound only, no picture: an asset is an image or a video\\); upload images`);
      await expectError(res, 400, 'UNSUPPORTED_MEDIA', message);
    });
  }

  test('SVG is refused because it can carry script', async () => {
    const res = await upload(server, await fixture('script.svg'), { filename: 'logo.svg', contentType: 'image/svg+xml' });
    await expectError(res, 400, 'SVG_REFUSED', /SVG.*scripts/);
  });

  for (const [name, reason] of [
    ['bad-crc.png', /CRC/],
    ['truncated.jpg', /JPEG/],
    ['truncated.mp4', /box|MP4|ISO/i],
  ] as const) {
    test(`${name} → 400 corrupt, not stored`, async () => {
      const res = await upload(server, await fixture(name), { filename: name });
      await expectError(res, 400, 'CORRUPT_MEDIA', new RegExp(`corrupt or truncated .*${reason.source}`, 'i'));
    });
  }

  test('a PNG declaring 100000x100000 → 400 before decoding', async () => {
    const res = await upload(server, await fixture('bomb.png'), { filename: 'bomb.png' });
    await expectError(res, 400, 'TOO_MANY_PIXELS', /100000x100000.*100000000/);
  });

  test('a file over AMS_MAX_UPLOAD_BYTES → 413 naming the limit', async () => {
    const big = Buffer.concat([await fixture('photo.jpg'), Buffer.alloc(250_000)]);
    await expectError(await upload(server, big, { filename: 'big.jpg' }), 413, 'FILE_TOO_LARGE', /200000 bytes/);
  });

  test('a body declared larger than the limit is refused from its Content-Length', async () => {
    const { body, contentType } = multipartBody([{ field: 'Filename', filename: 'x.jpg', data: Buffer.alloc(300_000) }]);
    await expectError(await postRaw(server, body, contentType), 413, 'FILE_TOO_LARGE', /200000 bytes/);
  });

  test('multipart without a boundary, or cut short, → 400 saying how to send it', async () => {
    await expectError(await postRaw(server, 'whatever', 'multipart/form-data'), 400, 'BAD_MULTIPART', /multipart\/form-data/);
    const { body, contentType } = multipartBody([{ field: 'Filename', filename: 'p.jpg', data: await fixture('photo.jpg') }]);
    const cut = body.subarray(0, body.length - 200);
    await expectError(await postRaw(server, cut, contentType), 400, 'BAD_MULTIPART', /multipart\/form-data/);
  });

  test('a flood of form fields is cut off by the parts limit', async () => {
    const { body, contentType } = multipartBody(Array.from({ length: 100 }, (_, i) => ({ field: `f${i}`, data: 'x' })));
    await expectError(await postRaw(server, body, contentType), 400, 'BAD_MULTIPART', /multipart\/form-data/);
  });

  test('unknown ids and non-GUIDs → 404 with the published wording', async () => {
    for (const path of [
      '/assets/6f1c3c54-1b8b-4c1e-9a1f-2f0e5b8f1a10',
      '/assets/not-a-guid',
      '/assets/..%2F..%2Fetc%2Fpasswd',
      '/images/6f1c3c54-1b8b-4c1e-9a1f-2f0e5b8f1a10',
      '/videos/nope',
      '/images/6f1c3c54-1b8b-4c1e-9a1f-2f0e5b8f1a10.jpg',
    ]) {
      const res = await fetch(`${server.url}${path}`, { redirect: 'manual' });
      await expectError(res, 404, 'NOT_FOUND', 'Asset Media Service Error: Resource not found');
    }
  });

  test('the file URL with another extension or the other route is not found', async () => {
    const body = await json(await upload(server, await fixture('photo.jpg'), { filename: 'p.jpg' }));
    for (const path of [`/images/${body.id}.png`, `/videos/${body.id}.jpg`]) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal((await json(res)).message, 'Asset Media Service Error: Resource not found');
    }
    await fetch(`${server.url}/images/${body.id}.JPG`).then((r) => assert.equal(r.status, 200));
  });
});
