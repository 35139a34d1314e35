import type { Worker } from 'node:worker_threads';
import { startWorker } from '../ops/worker-thread.js';

type Row = Record<string, unknown>;
interface Pending {
  row: Row;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A thread that stopped is replaced on the next insert, but not more often than this. */
export const RESTART_AFTER_MS = 1000;

/**
 * Inserts rows into a SQLite file from a worker thread, with group commit. better-sqlite3 is
 * synchronous: on the event loop every commit's WAL fsync (synchronous = FULL) stalls every other
 * request (~20 % of the upload benchmark's CPU samples). Here the fsync waits in the thread, and
 * rows arriving meanwhile go together into the next transaction: one fsync for many rows. Each
 * caller hears only after its own transaction committed; a row that fails (a duplicate id) fails
 * alone. Readers on other connections see a row once its insert has resolved (WAL).
 *
 * If the thread stops (it could not open the file, or died), the inserts it held fail — their
 * rows may or may not be in, which the caller treats as a failed upload whose blob gc may take —
 * and the next insert, from RESTART_AFTER_MS on, starts a new thread: a passing fault must not
 * leave every later upload failing until the process is restarted.
 */
export class SqliteRowWriter {
  private worker: Worker | null = null;
  private queued: Pending[] = [];
  private batch: Pending[] | null = null;
  private closed = false;
  /** Why the last thread stopped, and when; inserts fail with it until a restart is due. */
  private stopped: { err: Error; at: number } | null = null;
  private drained: (() => void) | null = null;

  constructor(
    private readonly file: string,
    private readonly table: string,
  ) {
    this.start();
  }

  insert(row: Row): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the SQLite writer is closed'));
    if (this.worker === null) {
      const stopped = this.stopped as { err: Error; at: number };
      if (Date.now() - stopped.at < RESTART_AFTER_MS) return Promise.reject(stopped.err);
      this.start();
    }
    return new Promise((resolve, reject) => {
      this.queued.push({ row, resolve, reject });
      this.send();
    });
  }

  /** Waits for every insert handed in so far, then stops the thread. */
  async close(): Promise<void> {
    if (this.batch !== null || this.queued.length > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.closed = true;
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.ref(); // or the process may end before the thread has closed its connection
    worker.postMessage('close');
    await exited;
  }

  private start(): void {
    const worker = startWorker(import.meta.url, 'sqlite-writer-thread', { file: this.file, table: this.table });
    this.worker = worker;
    worker.unref();
    worker.on('message', (results: Array<string | null>) => this.settle(results));
    worker.on('error', (err) => this.lost(worker, err));
    worker.on('exit', () => this.lost(worker, new Error('the SQLite writer thread has stopped')));
  }

  private send(): void {
    if (this.batch !== null || this.queued.length === 0 || this.worker === null) return;
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
      this.worker?.unref();
      this.drained?.();
      this.drained = null;
    }
  }

  /** The thread `worker` stopped ('error' comes first, then 'exit': only the first counts). */
  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return; // closed on purpose, or already replaced
    this.worker = null;
    this.stopped = { err, at: Date.now() };
    for (const p of [...(this.batch ?? []), ...this.queued.splice(0)]) p.reject(err);
    this.batch = null;
    this.drained?.();
    this.drained = null;
  }
}
