/**
 * A video in a store without local files (object storage) is copied to a temp file for ffmpeg,
 * which seeks. A copy that fails must leave no file behind, however early it fails.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { after, test } from 'node:test';
import { MemoryBlobStore } from '../../src/blob/memory.js';
import { DerivativeService } from '../../src/derivatives/service.js';
import type { FrameExtractor } from '../../src/media/ffmpeg.js';
import type { ImageTransformer } from '../../src/media/transform.js';
import type { AssetRecord } from '../../src/meta/repository.js';

const dir = await mkdtemp(join(tmpdir(), 'ams-poster-copy-'));
after(() => rm(dir, { recursive: true, force: true }));

/** A bucket whose reads fail as soon as they start (a reset connection); our own interface, wrapped. */
class FailingReads extends MemoryBlobStore {
  override async get(): Promise<Readable> {
    const body = new PassThrough();
    process.nextTick(() => body.destroy(new Error('connection reset by the bucket')));
    return body;
  }
}

const video: AssetRecord = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'clip.mp4',
  kind: 'video',
  mimeType: 'video/mp4',
  ext: 'mp4',
  width: 160,
  height: 120,
  durationMs: 1000,
  sizeBytes: 7995,
  md5: '0'.repeat(32),
  sha256: 'a'.repeat(64),
  blobKey: `originals/aa/aa/${'a'.repeat(64)}`,
  createdAt: new Date(),
};

test('a poster whose video copy fails at once leaves no temp file (the open must not land after the cleanup)', async () => {
  // Neither is reached: the copy fails first.
  const frames = { status: Promise.resolve({ usable: true, version: 'stub' }), frameAt: () => assert.fail('ffmpeg run on a failed copy') };
  const service = new DerivativeService(new FailingReads(), {} as ImageTransformer, { frames: frames as unknown as FrameExtractor, tempDir: dir });
  // The race is narrow (the cleanup's removal must beat an open queued before it): 3000 copies,
  // 20 at once to keep the thread pool busy, each a distinct poster so none is shared. Without the
  // fix 5 to 17 files were left each run.
  for (let i = 0; i < 3000; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        assert.rejects(service.ensure(video, { width: 1 + i + j, height: null, fit: 'cover', quality: null, enlarge: false }, 'jpeg'), /connection reset/),
      ),
    );
  }
  // A late open would have created its file within milliseconds of its rejection.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(await readdir(dir), []);
});
