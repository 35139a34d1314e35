import type { Worker } from 'node:worker_threads';
import { startWorker } from '../ops/worker-thread.js';
import type { DigestReply, DigestRequest } from './digest-thread.js';

interface Session {
  onAck: () => void;
  onError: (err: Error) => void;
  resolve: (result: { digest: string; seconds: number }) => void;
  reject: (err: Error) => void;
}

/** One hashing worker thread, shared by every upload hashed off the event loop. */
export class HashThread {
  private readonly worker: Worker;
  private readonly sessions = new Map<number, Session>();
  dead = false;

  constructor() {
    this.worker = startWorker(import.meta.url, 'digest-thread');
    this.worker.unref();
    this.worker.on('message', (reply: DigestReply) => this.receive(reply));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', () => this.fail(new Error('a hashing thread has stopped')));
  }

  /** Starts hashing session `id`; resolves with its digest once `end` is sent. */
  open(id: number, algorithm: string, handlers: Pick<Session, 'onAck' | 'onError'>): Promise<{ digest: string; seconds: number }> {
    if (this.dead) return Promise.reject(new Error('a hashing thread has stopped'));
    return new Promise((resolve, reject) => {
      this.sessions.set(id, { ...handlers, resolve, reject });
      // Only while uploads are being hashed does the thread keep the process alive.
      if (this.sessions.size === 1) this.worker.ref();
      this.post({ id, start: algorithm });
    });
  }

  hash(id: number, data: Uint8Array): void {
    if (this.sessions.has(id)) this.post({ id, data });
  }

  /** Asks for the digest (or, after an abort, just drops the session). */
  end(id: number): void {
    if (this.sessions.has(id)) this.post({ id, end: true });
  }

  terminate(): void {
    void this.worker.terminate();
  }

  private post(message: DigestRequest): void {
    this.worker.postMessage(message);
  }

  private receive(reply: DigestReply): void {
    const session = this.sessions.get(reply.id);
    if (session === undefined) return;
    if ('ack' in reply) return session.onAck();
    this.sessions.delete(reply.id);
    if (this.sessions.size === 0) this.worker.unref();
    session.resolve({ digest: reply.digest, seconds: reply.seconds });
  }

  private fail(err: Error): void {
    this.dead = true;
    for (const session of this.sessions.values()) {
      session.onError(err);
      session.reject(err);
    }
    this.sessions.clear();
  }
}

let threads: readonly [HashThread, HashThread] | null = null;

/** The two hashing threads (MD5 in one, SHA-256 in the other), started on first use; restarted after a failure. */
export function hashThreads(): readonly [HashThread, HashThread] {
  if (threads === null || threads.some((t) => t.dead)) {
    for (const t of threads ?? []) t.terminate();
    threads = [new HashThread(), new HashThread()];
  }
  return threads;
}
