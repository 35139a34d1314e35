import { errors } from '../errors.js';

/**
 * A concurrency cap with a bounded queue: at most `concurrency` jobs run at once, `queueLimit`
 * more wait, the rest are refused with 503 (DERIVATIVES_BUSY) rather than piling up in memory.
 * Shared by the image transformer and the video frame extractor, each with its own instance.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw errors.derivativesBusy();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter, so `running` never dips below a full queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
