/**
 * Fixed-window counters, in memory. Cluster workers share one set in the primary
 * (cluster-rate-limit.ts); separate instances (hosts) still count apart — a limit shared across
 * hosts would need a shared store such as Redis.
 */
export class FixedWindowLimiter {
  private windowStart = 0;
  private counts = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** null when allowed; otherwise the whole seconds until the window resets (for Retry-After). */
  take(key: string): number | null {
    if (this.limit <= 0) return null;
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      // Dropping every counter at the window edge bounds memory by the keys seen in one window.
      this.windowStart = t - (t % this.windowMs);
      this.counts.clear();
    }
    const used = this.counts.get(key) ?? 0;
    if (used >= this.limit) return Math.max(1, Math.ceil((this.windowStart + this.windowMs - t) / 1000));
    this.counts.set(key, used + 1);
    return null;
  }
}
