/**
 * Counts uploads between their first byte and their cleanup. Graceful shutdown waits on it: the
 * database may only close once every aborted upload has removed its temp file and reservation.
 */
export class InFlight {
  private count = 0;
  private started = 0;
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.count;
  }

  /** How many uploads have ever started: tells whether one came and went between two looks. */
  get entries(): number {
    return this.started;
  }

  enter(): void {
    this.count++;
    this.started++;
  }

  leave(): void {
    this.count = Math.max(0, this.count - 1);
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves true when nothing is in flight, false if `ms` passes first. */
  idle(ms: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }
}
