import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

/** What a derivative is made of (orientation, colour, metadata, frames) and what is refused. */
describe('derivative output and refusals', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const put = async (bytes: Buffer, filename: string) => (await json(await upload(server, bytes, { filename }))).id as string;
  async function get(path: string) {
    const res = await fetch(`${server.url}${path}`);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    return { bytes, meta: await sharp(bytes).metadata() };
  }
  const derivatives = async () => (await server.storedFiles()).filter((f) => f.includes('/derivatives/'));

  test('EXIF orientation is applied: a stored 400x200 with orientation 6 comes out portrait', async () => {
    const id = await put(await fixture('exif-6.jpg'), 'exif.jpg');
    const { meta } = await get(`/images/${id}.jpg?width=100`);
    assert.deepEqual([meta.width, meta.height], [100, 200]);
    assert.ok(meta.orientation === undefined || meta.orientation === 1, `orientation ${meta.orientation}`);
  });

  test('metadata (EXIF, GPS, XMP, ICC) is stripped and the pixels are sRGB', async () => {
    const source = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#c04020' } })
      .withExif({ IFD0: { Copyright: 'Shop', Artist: 'Someone' }, IFD3: { GPSLatitudeRef: 'N' } })
      .withIccProfile('p3')
      .jpeg()
      .toBuffer();
    const before = await sharp(source).metadata();
    assert.ok(before.exif && before.icc, 'the source carries EXIF and an ICC profile');
    const id = await put(source, 'meta.jpg');
    for (const format of ['jpg', 'webp', 'png', 'avif']) {
      const { meta } = await get(`/images/${id}.${format}?width=150`);
      assert.equal(meta.exif, undefined, `${format}: EXIF`);
      assert.equal(meta.xmp, undefined, `${format}: XMP`);
      assert.equal(meta.iptc, undefined, `${format}: IPTC`);
      assert.equal(meta.icc, undefined, `${format}: ICC`);
      assert.equal(meta.space, 'srgb', `${format}: colour space`);
    }
  });

  test('an animated GIF stays animated as GIF or WebP; AVIF, JPEG and PNG get the first frame', async () => {
    const id = await put(await fixture('anim.gif'), 'anim.gif');
    const gif = await get(`/images/${id}.gif?width=32`);
    assert.deepEqual([gif.meta.format, gif.meta.pages, gif.meta.width, gif.meta.pageHeight ?? gif.meta.height], ['gif', 3, 32, 24]);
    const webp = await get(`/images/${id}.webp?width=32`);
    assert.deepEqual([webp.meta.format, webp.meta.pages], ['webp', 3]);
    for (const ext of ['avif', 'jpg', 'png']) {
      const still = await get(`/images/${id}.${ext}?width=32`);
      assert.ok((still.meta.pages ?? 1) === 1, `${ext}: ${still.meta.pages} pages`);
      assert.deepEqual([still.meta.width, still.meta.height], [32, 24], ext);
    }
  });

  test('a multi-page TIFF is a document, not an animation: every output is its first page', async () => {
    // multipage.tiff: a 48x32 page, then a 24x16 one. Decoding every page as frames of one
    // animation fails on pages of different sizes (it was a 500), and same-size pages turned into
    // an animated WebP or GIF.
    const sameSize = await sharp(Buffer.alloc(40 * 60 * 3, 120), { raw: { width: 40, height: 60, channels: 3, pageHeight: 20 } })
      .tiff()
      .toBuffer();
    assert.equal((await sharp(sameSize).metadata()).pages, 3, 'the source has three pages');
    for (const [bytes, width, height] of [[await fixture('multipage.tiff'), 24, 16], [sameSize, 20, 10]] as const) {
      const id = await put(bytes, 'scan.tif');
      for (const ext of ['webp', 'gif', 'jpg', 'png', 'avif']) {
        const out = await get(`/images/${id}.${ext}?width=${width}`);
        assert.ok((out.meta.pages ?? 1) === 1, `${ext}: ${out.meta.pages} pages`);
        assert.deepEqual([out.meta.width, out.meta.height], [width, height], ext);
      }
    }
  });

  test('transparency becomes white, not black, in a JPEG (asked for, or a TIFF\'s default output)', async () => {
    // A product cut-out: a red square on a fully transparent background.
    const cutout = (kind: 'png' | 'tiff') =>
      sharp({ create: { width: 60, height: 40, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
        .composite([{ input: { create: { width: 20, height: 20, channels: 4, background: '#d01010' } }, left: 20, top: 10 }])
        [kind]({ compression: kind === 'tiff' ? 'lzw' : undefined }) // sharp's default TIFF is JPEG-compressed: no alpha
        .toBuffer();
    for (const [kind, format] of [['png', 'jpeg'], ['tiff', null]] as const) {
      const id = await put(await cutout(kind), `cutout.${kind}`);
      const query = format === null ? '?width=60' : `?width=60&format=${format}`;
      const redirect = await fetch(`${server.url}/images/${id}${query}`, { redirect: 'manual' });
      assert.ok(redirect.headers.get('location')?.endsWith(`/images/${id}.jpg?width=60`), `${kind}${query}`);
      const path = `${kind} → JPEG`;
      const { bytes: out, meta } = await get(`/images/${id}.jpg?width=60`);
      assert.equal(meta.format, 'jpeg', path);
      const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
      const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
      for (const [x, y] of [[0, 0], [59, 39], [5, 20]] as const) {
        assert.ok(at(x, y).every((c) => c > 245), `${path}: a transparent pixel came out ${at(x, y)}, not white`);
      }
      const [r, g, b] = at(30, 20) as [number, number, number];
      assert.ok(r > 180 && g < 60 && b < 60, `${path}: the red square came out ${[r, g, b]}`);
    }
  });

  test('HEIC and BMP are store-only: a derivative request answers 400 NOT_TRANSFORMABLE naming the original', async () => {
    for (const name of ['image.heic', 'image.bmp']) {
      const id = await put(await fixture(name), name);
      const res = await fetch(`${server.url}/images/${id}?width=100&format=webp`, { redirect: 'manual' });
      assert.equal(res.status, 400, name);
      const body = await json(res);
      assert.equal(body.code, 'NOT_TRANSFORMABLE');
      assert.match(body.message, /cannot be resized or converted; request the original at http/);
    }
  });

  test('a huge requested size is refused before any work, naming the limit; nothing is stored', async () => {
    const bytes = await fixture('photo.jpg');
    const id = await put(bytes, 'p.jpg');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // Only this source's derivatives: earlier tests' ones are stored write-behind and may still land.
    const ofThisSource = async () => (await derivatives()).filter((f) => f.includes(sha256));
    const cases: Array<[string, string, RegExp]> = [
      ['width=100000', 'INVALID_PARAMETER', /from 1 to 4096/],
      ['width=3000&dpr=2', 'INVALID_PARAMETER', /at most 4096 pixels after dpr/],
      ['width=100&height=4096&fit=outside&enlarge=true', 'DERIVATIVE_TOO_LARGE', /at most 4096 pixels a side/],
    ];
    for (const [query, code, message] of cases) {
      const res = await fetch(`${server.url}/images/${id}.webp?${query}`);
      assert.equal(res.status, 400, query);
      const body = await json(res);
      assert.equal(body.code, code, query);
      assert.match(body.message, message);
    }
    assert.deepEqual(await ofThisSource(), []);
  });

  test('a narrow width of a very tall image that would stay too tall says which side to ask for', async () => {
    // 50x5000: width=200 is not an enlargement, so the result would stay 50x5000, over 4096. The
    // message must explain why asking for a *small* width is refused, and what to ask instead.
    const tall = await sharp({ create: { width: 50, height: 5000, channels: 3, background: '#336699' } }).png().toBuffer();
    const id = await put(tall, 'tall.png');
    const redirect = await fetch(`${server.url}/images/${id}?width=200&format=webp`, { redirect: 'manual' });
    assert.equal(redirect.status, 303);
    const res = await fetch(server.local(redirect.headers.get('location') ?? ''));
    assert.equal(res.status, 400);
    const body = await json(res);
    assert.equal(body.code, 'DERIVATIVE_TOO_LARGE');
    assert.match(body.message, /50x5000 pixels.*at most 4096 pixels a side.*height.*not enlarged/);
    const { meta } = await get(`/images/${id}.webp?width=200&height=2000&fit=inside`);
    assert.deepEqual([meta.width, meta.height], [20, 2000], 'with a height too, it fits');
  });

  test('invalid values → 400 naming the allowed range', async () => {
    const id = await put(await fixture('image.png'), 'i.png');
    const cases: Array<[string, RegExp]> = [
      ['width=abc', /Invalid width="abc"; use a whole number from 1 to 4096/],
      ['height=0', /from 1 to 4096/],
      ['fit=crop', /one of cover, contain, inside, outside, fill/],
      ['format=bmp', /one of jpeg, png, webp, avif, auto/],
      ['quality=0', /from 1 to 100/],
      ['dpr=8', /from 1 to 4/],
      ['preset=giant', /one of thumb, card, zoom/],
      ['size=10', /use width and height instead \(the parameters are width, height, fit, format, quality, dpr, preset, enlarge\)/],
      ['widht=10', /Invalid widht="10"; use width instead/],
      // Caught by the route's schema first: still a 400 that names the parameter.
      ['width=1&width=2', /width/],
    ];
    for (const [query, message] of cases) {
      const res = await fetch(`${server.url}/images/${id}?${query}`, { redirect: 'manual' });
      assert.equal(res.status, 400, query);
      const body = await json(res);
      assert.match(body.message, message, query);
    }
  });

  test('a derivative of a video is refused like any /images request for a video', async () => {
    const id = await put(await fixture('clip.mp4'), 'c.mp4');
    const res = await fetch(`${server.url}/images/${id}?width=100`, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).code, 'WRONG_ASSET_TYPE');
  });
});
