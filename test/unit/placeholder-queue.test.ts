/**
 * The background placeholder queue: idle priority (nothing while an upload is in flight), a bounded
 * queue that drops, and images read back from the blob store. Real repository (SQLite), the
 * in-memory blob store (it passes the blob conformance suite).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { originalKey } from '../../src/blob/keys.js';
import { MemoryBlobStore } from '../../src/blob/memory.js';
import { PlaceholderQueue } from '../../src/ingest/placeholder-queue.js';
import { openRepository } from '../../src/meta/kysely.js';
import type { AssetRecord, AssetRepository } from '../../src/meta/repository.js';
import { InFlight } from '../../src/ops/in-flight.js';

describe('PlaceholderQueue', () => {
  let dir: string;
  let repo: AssetRepository;
  const blobs = new MemoryBlobStore();

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ams-placeholders-'));
    repo = await openRepository(`sqlite:${path.join(dir, 'ams.sqlite')}`);
  });
  after(async () => {
    await repo.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A stored PNG and its row, as an upload leaves them. */
  async function storedImage(colour: string): Promise<AssetRecord> {
    const bytes = await sharp({ create: { width: 40, height: 30, channels: 3, background: colour } }).png().toBuffer();
    const sha256 = randomUUID().replaceAll('-', '').padEnd(64, '0');
    await blobs.put(originalKey(sha256), Readable.from([bytes]), { size: bytes.length, contentType: 'image/png' });
    const asset: AssetRecord = {
      id: randomUUID(), name: 'x.png', kind: 'image', mimeType: 'image/png', ext: 'png', width: 40, height: 30,
      durationMs: null, sizeBytes: bytes.length, md5: '0'.repeat(32), sha256, blobKey: originalKey(sha256), createdAt: new Date(),
    };
    await repo.insert(asset);
    return asset;
  }

  async function waitFor(id: string): Promise<AssetRecord> {
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(20)) {
      const found = await repo.findById(id);
      if (found?.thumbhash !== undefined) return found;
    }
    assert.fail('no placeholders after 5 s');
  }

  test('waits while an upload is in flight, then makes the placeholders from the stored blob', async () => {
    const inFlight = new InFlight();
    const queue = new PlaceholderQueue({ blobs, repo, inFlight });
    const asset = await storedImage('#2040d0');
    inFlight.enter();
    assert.equal(queue.enqueue(asset), true);
    assert.equal(queue.enqueue(asset), false, 'already queued');
    await sleep(300);
    assert.equal((await repo.findById(asset.id))?.thumbhash, undefined, 'made while an upload was in flight');
    inFlight.leave();
    assert.equal((await waitFor(asset.id)).dominantColor, '#2040d0');
    await queue.close();
  });

  test('an image whose placeholders were made meanwhile (another queue) or that was deleted is not made again', async () => {
    const writes: string[] = [];
    const counting: AssetRepository = Object.assign(Object.create(repo) as AssetRepository, {
      setPlaceholders: (id: string, p: Parameters<AssetRepository['setPlaceholders']>[1]) => (writes.push(id), repo.setPlaceholders(id, p)),
    });
    // Two workers serving GETs of a new image: both queues saw its row without placeholders. The
    // second is held (an upload in flight on it) until the first has made them.
    const [idle, busy] = [new InFlight(), new InFlight()];
    busy.enter();
    const [first, second] = [new PlaceholderQueue({ blobs, repo: counting, inFlight: idle }), new PlaceholderQueue({ blobs, repo: counting, inFlight: busy })];
    const shared = await storedImage('#30a030');
    const deleted = await storedImage('#a03030');
    assert.equal(second.enqueue(shared), true);
    assert.equal(second.enqueue(deleted), true);
    assert.equal(first.enqueue(shared), true);
    assert.equal((await waitFor(shared.id)).dominantColor, '#30a030');
    await repo.delete(deleted.id);
    busy.leave();
    await sleep(1500); // the second queue has drained (it waits for a quiet spell first)
    assert.deepEqual(writes, [shared.id]);
    await Promise.all([first.close(), second.close()]);
  });

  test('a full queue drops, a closed queue takes nothing, and videos are never queued', async () => {
    const inFlight = new InFlight();
    inFlight.enter();
    const queue = new PlaceholderQueue({ blobs, repo, inFlight, capacity: 1 });
    const [a, b] = [await storedImage('#101010'), await storedImage('#202020')];
    assert.equal(queue.enqueue(a), true);
    assert.equal(queue.enqueue(b), false, 'full');
    assert.equal(queue.enqueue({ ...b, id: randomUUID(), kind: 'video', mimeType: 'video/mp4' }), false);
    await queue.close();
    assert.equal(queue.enqueue(b), false, 'closed');
    inFlight.leave();
    await sleep(100);
    assert.equal((await repo.findById(a.id))?.thumbhash, undefined, 'close dropped the waiting work');
  });
});
