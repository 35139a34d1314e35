import { randomUUID } from 'node:crypto';
import { originalKey } from '../blob/keys.js';
import type { BlobStore } from '../blob/store.js';
import { errors } from '../errors.js';
import type { AssetRecord, AssetRepository } from '../meta/repository.js';
import type { MediaProbe } from '../media/probe.js';
import { sniffMediaFormat } from '../media/sniff.js';
import { safeFileName } from './name.js';
import type { ReceivedFile } from './receive.js';
import type { UploadStage } from '../ops/metrics.js';

export interface IngestDeps {
  blobs: BlobStore;
  repo: AssetRepository;
  probe: MediaProbe;
  /** Stage timings for metrics (issue 5). */
  observe?: (stage: UploadStage, seconds: number) => void;
}

const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

/**
 * Turns a received temp file into a stored asset: sniff → probe (header-first) → blob → row.
 * Placeholders are not made here (they decode the image): see placeholder-queue.ts.
 * The blob goes in before the row, so a row never points at nothing. If the row cannot be
 * written, a blob this upload created stays behind as an orphan for the sweeper: deleting it here
 * could race a concurrent upload of the same bytes that has just found it already stored.
 */
export class AssetIngest {
  constructor(private readonly deps: IngestDeps) {}

  async commit(received: ReceivedFile, clientName: string | undefined): Promise<AssetRecord> {
    if (received.size === 0) throw errors.noFile();
    const observe = this.deps.observe ?? (() => {});
    if (received.timing) {
      observe('receive', received.timing.receiveSeconds);
      observe('hash', received.timing.hashSeconds);
    }
    let t = process.hrtime.bigint();
    const format = await sniffMediaFormat(received.path, received.head);
    if (!received.structure.ok) throw errors.corruptMedia(received.structure.reason);
    const probed = await this.deps.probe.probe(received.path, format, received.head);
    observe('probe', since(t));
    const id = randomUUID();
    const blobKey = originalKey(received.sha256);
    t = process.hrtime.bigint();
    await this.deps.blobs.putFile(blobKey, received.path, { size: received.size, contentType: probed.mimeType });
    const asset: AssetRecord = {
      id,
      name: safeFileName(clientName) ?? `${id}.${probed.ext}`,
      kind: probed.kind,
      mimeType: probed.mimeType,
      ext: probed.ext,
      width: probed.width,
      height: probed.height,
      durationMs: probed.durationMs,
      sizeBytes: received.size,
      md5: received.md5,
      sha256: received.sha256,
      blobKey,
      createdAt: new Date(),
    };
    observe('store', since(t));
    t = process.hrtime.bigint();
    await this.deps.repo.insert(asset);
    observe('commit', since(t));
    return asset;
  }
}
