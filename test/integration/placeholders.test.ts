import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToAverageRGBA } from 'thumbhash';
import { expected, fixture, json, startServer, upload, type TestServer } from '../helpers/server.js';

const PUBLISHED = ['id', 'name', 'height', 'width', 'href', 'md5Checksum', 'mimeType'];

/**
 * The optional fields after the published ones: thumbhash + dominantColor for images (made in the
 * background after the 201, so they appear a little later), durationMs for videos.
 */
describe('placeholders in the asset JSON', () => {
  let server: TestServer;
  before(async () => {
    // One test edits rows behind the server's back, as an older version would have left them: no row cache.
    server = await startServer({ AMS_CACHE_ROWS: '0' });
  });
  after(() => server.close());

  const get = async (id: string) => json(await fetch(`${server.url}/assets/${id}`));

  /** GET until the placeholders are there (bounded: they are made once no upload is in flight). */
  async function getWithPlaceholders(id: string) {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
      const got = await get(id);
      if (got.thumbhash !== undefined) return got;
    }
    assert.fail(`no placeholders for ${id} after 10 s`);
  }

  async function uploadAndGet(bytes: Buffer, filename: string) {
    const created = await json(await upload(server, bytes, { filename }));
    return { created, got: await getWithPlaceholders(created.id) };
  }

  test('an image gets a ThumbHash of its displayed shape and its dominant colour, after the 201', async () => {
    const red = await sharp({ create: { width: 300, height: 100, channels: 3, background: '#d02010' } }).png().toBuffer();
    const { created, got } = await uploadAndGet(red, 'red.png');
    assert.deepEqual(Object.keys(created), [...PUBLISHED, 'success'], 'the upload does not decode the image');
    assert.deepEqual(Object.keys(got), [...PUBLISHED, 'thumbhash', 'dominantColor']);
    const hash = Buffer.from(got.thumbhash, 'base64');
    assert.ok(thumbHashToApproximateAspectRatio(hash) > 2, 'landscape 3:1 (the hash keeps the ratio only roughly)');
    const avg = thumbHashToAverageRGBA(hash);
    assert.ok(avg.r > 0.6 && avg.g < 0.3 && avg.b < 0.3, `average colour ${JSON.stringify(avg)}`);
    assert.match(got.dominantColor, /^#[0-9a-f]{6}$/);
    const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(got.dominantColor.slice(i, i + 2), 16));
    assert.ok(Math.abs((r ?? 0) - 0xd0) <= 16 && Math.abs((g ?? 0) - 0x20) <= 16 && Math.abs((b ?? 0) - 0x10) <= 16, got.dominantColor);
  });

  test('the ThumbHash follows EXIF orientation (a portrait phone photo gives a portrait hash)', async () => {
    const { got } = await uploadAndGet(await fixture('exif-6.jpg'), 'exif.jpg');
    assert.ok(thumbHashToApproximateAspectRatio(Buffer.from(got.thumbhash, 'base64')) < 0.75);
  });

  test('an image stored without placeholders (older version, full queue) gets them once it is asked for', async () => {
    const { got } = await uploadAndGet(await fixture('exif-6.jpg'), 'again.jpg');
    const db = new Database(path.join(server.dataDir, 'ams.sqlite'));
    try {
      db.prepare('update assets set thumbhash = null, dominant_color = null where id = ?').run(got.id);
    } finally {
      db.close();
    }
    assert.equal((await get(got.id)).thumbhash, undefined);
    assert.deepEqual(await getWithPlaceholders(got.id), got);
  });

  test('a video gets durationMs and no image placeholders', async () => {
    const created = await json(await upload(server, await fixture('clip.mp4'), { filename: 'clip.mp4' }));
    assert.equal(created.durationMs, expected['clip.mp4']?.durationMs);
    await sleep(200);
    assert.deepEqual(Object.keys(await get(created.id)), [...PUBLISHED, 'durationMs']);
  });

  test('HEIC (store-only) has no placeholders and still uploads', async () => {
    const created = await json(await upload(server, await fixture('image.heic'), { filename: 'image.heic' }));
    assert.equal(created.success, true);
    await sleep(200);
    const got = await get(created.id);
    assert.equal(got.thumbhash, undefined);
    assert.equal(got.dominantColor, undefined);
  });

  test('the OpenAPI document lists the new fields as optional, after the published ones', async () => {
    const doc = await json(await fetch(`${server.url}/openapi.json`));
    const asset = doc.components.schemas.Asset;
    assert.deepEqual(Object.keys(asset.properties), [...PUBLISHED, 'thumbhash', 'dominantColor', 'durationMs']);
    assert.deepEqual(asset.required, PUBLISHED);
  });
});
