/**
 * The thread side of ThreadDigests (digests.ts): one hash per upload, fed with views of shared
 * batches; each batch is acknowledged once hashed, so the batch can be refilled.
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type DigestRequest =
  | { id: number; start: string }
  | { id: number; data: Uint8Array }
  | { id: number; end: true };
export type DigestReply = { id: number; ack: true } | { id: number; digest: string; seconds: number };

const open = new Map<number, { hash: Hash; ns: bigint }>();

parentPort?.on('message', (m: DigestRequest) => {
  if ('start' in m) {
    open.set(m.id, { hash: createHash(m.start), ns: 0n });
    return;
  }
  const session = open.get(m.id);
  if (session === undefined) return; // aborted
  if ('data' in m) {
    const t = process.hrtime.bigint();
    session.hash.update(m.data);
    session.ns += process.hrtime.bigint() - t;
    parentPort?.postMessage({ id: m.id, ack: true } satisfies DigestReply);
    return;
  }
  open.delete(m.id);
  const reply: DigestReply = { id: m.id, digest: session.hash.digest('hex'), seconds: Number(session.ns) / 1e9 };
  parentPort?.postMessage(reply);
});
