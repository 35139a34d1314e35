import type { Worker } from 'node:worker_threads';
import { startWorker } from '../ops/worker-thread.js';

type Row = Record<string, unknown>;
interface Pending {
  row: Row;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Inserts rows into a SQLite file from a worker thread, with group commit. better-sqlite3 is
 * synchronous: on the event loop every commit's WAL fsync (synchronous = FULL) stalls every other
 * request (~20 % of the upload benchmark's CPU samples). Here the fsync waits in the thread, and
 * rows arriving meanwhile go together into the next transaction: one fsync for many rows. Each
 * caller hears only after its own transaction committed; a row that fails (a duplicate id) fails
 * alone. Readers on other connections see a row once its insert has resolved (WAL).
 */
export class SqliteRowWriter {
  private readonly worker: Worker;
  private queued: Pending[] = [];
  private batch: Pending[] | null = null;
  private broken: Error | null = null;
  private drained: (() => void) | null = null;

  constructor(file: string, table: string) {
    this.worker = startWorker(import.meta.url, 'sqlite-writer-thread', { file, table });
    this.worker.unref();
    this.worker.on('message', (results: Array<string | null>) => this.settle(results));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', () => this.fail(new Error('the SQLite writer thread has stopped')));
  }

  insert(row: Row): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queued.push({ row, resolve, reject });
      this.send();
    });
  }

  /** Waits for every insert handed in so far, then stops the thread. */
  async close(): Promise<void> {
    if (this.batch !== null || this.queued.length > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    if (this.broken) return;
    this.broken = new Error('the SQLite writer is closed');
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.ref(); // or the process may end before the thread has closed its connection
    this.worker.postMessage('close');
    await exited;
  }

  private send(): void {
    if (this.batch !== null || this.queued.length === 0) return;
    this.batch = this.queued;
    this.queued = [];
    // Only while work is out does the thread keep the process alive.
    this.worker.ref();
    this.worker.postMessage(this.batch.map((p) => p.row));
  }

  private settle(results: Array<string | null>): void {
    const batch = this.batch ?? [];
    this.batch = null;
    batch.forEach((p, i) => {
      const message = results[i];
      if (message === null || message === undefined) p.resolve();
      else p.reject(new Error(message));
    });
    this.send();
    if (this.batch === null) {
      this.worker.unref();
      this.drained?.();
      this.drained = null;
    }
  }

  private fail(err: Error): void {
    this.broken ??= err;
    for (const p of [...(this.batch ?? []), ...this.queued.splice(0)]) p.reject(this.broken);
    this.batch = null;
    this.drained?.();
    this.drained = null;
  }
}
