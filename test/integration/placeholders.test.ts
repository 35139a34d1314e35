import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToAverageRGBA } from 'thumbhash';
import { expected, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

const PUBLISHED = ['id', 'name', 'height', 'width', 'href', 'md5Checksum', 'mimeType'];

/** The optional fields after the published ones: thumbhash + dominantColor for images, durationMs for videos. */
describe('placeholders in the asset JSON', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  async function uploadAndGet(bytes: Buffer, filename: string) {
    const created = await json(await upload(server, bytes, { filename }));
    const got = await json(await fetch(`${server.url}/assets/${created.id}`));
    return { created, got };
  }

  test('an image gets a ThumbHash of its displayed shape and its dominant colour, in the 201 and in GET', async () => {
    const red = await sharp({ create: { width: 300, height: 100, channels: 3, background: '#d02010' } }).png().toBuffer();
    const { created, got } = await uploadAndGet(red, 'red.png');
    assert.deepEqual(Object.keys(created), [...PUBLISHED, 'success', 'thumbhash', 'dominantColor']);
    assert.deepEqual(Object.keys(got), [...PUBLISHED, 'thumbhash', 'dominantColor']);
    assert.equal(got.thumbhash, created.thumbhash);
    assert.equal(got.dominantColor, created.dominantColor);
    const hash = Buffer.from(created.thumbhash, 'base64');
    assert.ok(thumbHashToApproximateAspectRatio(hash) > 2, 'landscape 3:1 (the hash keeps the ratio only roughly)');
    const avg = thumbHashToAverageRGBA(hash);
    assert.ok(avg.r > 0.6 && avg.g < 0.3 && avg.b < 0.3, `average colour ${JSON.stringify(avg)}`);
    assert.match(created.dominantColor, /^#[0-9a-f]{6}$/);
    const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(created.dominantColor.slice(i, i + 2), 16));
    assert.ok(Math.abs((r ?? 0) - 0xd0) <= 16 && Math.abs((g ?? 0) - 0x20) <= 16 && Math.abs((b ?? 0) - 0x10) <= 16, created.dominantColor);
  });

  test('the ThumbHash follows EXIF orientation (a portrait phone photo gives a portrait hash)', async () => {
    const { created } = await uploadAndGet(await fixture('exif-6.jpg'), 'exif.jpg');
    assert.ok(thumbHashToApproximateAspectRatio(Buffer.from(created.thumbhash, 'base64')) < 0.75);
  });

  test('a video gets durationMs and no image placeholders', async () => {
    const { created, got } = await uploadAndGet(await fixture('clip.mp4'), 'clip.mp4');
    assert.equal(created.durationMs, expected['clip.mp4']?.durationMs);
    assert.deepEqual(Object.keys(got), [...PUBLISHED, 'durationMs']);
  });

  test('HEIC (store-only) has no placeholders and still uploads', async () => {
    const { created } = await uploadAndGet(await fixture('image.heic'), 'image.heic');
    assert.equal(created.success, true);
    assert.equal(created.thumbhash, undefined);
    assert.equal(created.dominantColor, undefined);
  });

  test('the OpenAPI document lists the new fields as optional, after the published ones', async () => {
    const doc = await json(await fetch(`${server.url}/openapi.json`));
    const asset = doc.components.schemas.Asset;
    assert.deepEqual(Object.keys(asset.properties), [...PUBLISHED, 'thumbhash', 'dominantColor', 'durationMs']);
    assert.deepEqual(asset.required, PUBLISHED);
  });
});
