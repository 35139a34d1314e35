import cluster from 'node:cluster';
import type { OpsConfig } from '../config.js';
import { FixedWindowLimiter } from './rate-limit.js';

/** Which upload limit a key counts against: the client's IP, or the principal of its token. */
export type LimitScope = 'ip' | 'token';

/** null when allowed; otherwise whole seconds until the window resets (Retry-After). */
export interface UploadLimiter {
  take(scope: LimitScope, key: string): number | null | Promise<number | null>;
}

/** Counts in this process (a single server, or the cluster primary counting for its workers). */
export function localUploadLimiter(ops: OpsConfig): { take(scope: LimitScope, key: string): number | null } {
  const windowMs = ops.rateWindowS * 1000;
  const limiters = { ip: new FixedWindowLimiter(ops.uploadRatePerIp, windowMs), token: new FixedWindowLimiter(ops.uploadRatePerToken, windowMs) };
  return { take: (scope, key) => limiters[scope].take(key) };
}

const ASK = 'ams:upload-rate';
const ANSWER = 'ams:upload-rate-answer';
/** How long a worker waits for the primary before counting on its own. */
const PRIMARY_TIMEOUT_MS = 1000;

interface Ask {
  type: typeof ASK;
  id: number;
  scope: LimitScope;
  key: string;
}
interface Answer {
  type: typeof ANSWER;
  id: number;
  wait: number | null;
}

/**
 * In the cluster primary: one count for all workers. With AMS_WORKERS=N each worker used to count
 * alone, so a client spreading its connections over the workers got up to N times the limit.
 */
export function serveClusterRateLimits(ops: OpsConfig): void {
  const shared = localUploadLimiter(ops);
  cluster.on('message', (worker, message: Partial<Ask>) => {
    if (message?.type !== ASK || typeof message.id !== 'number' || typeof message.key !== 'string') return;
    if (message.scope !== 'ip' && message.scope !== 'token') return;
    const wait = shared.take(message.scope, message.key);
    worker.send({ type: ANSWER, id: message.id, wait } satisfies Answer);
  });
}

/**
 * In a worker: asks the primary, one IPC round trip per upload (uploads only; a disabled limit
 * asks nothing). If the primary does not answer within PRIMARY_TIMEOUT_MS the worker counts on its
 * own, as a single process would: an upload is never stuck on the limiter.
 */
export function joinClusterRateLimits(ops: OpsConfig): UploadLimiter {
  const fallback = localUploadLimiter(ops);
  const limits = { ip: ops.uploadRatePerIp, token: ops.uploadRatePerToken };
  const pending = new Map<number, (wait: number | null) => void>();
  let next = 0;
  process.on('message', (message: Partial<Answer>) => {
    if (message?.type === ANSWER && typeof message.id === 'number') pending.get(message.id)?.(message.wait ?? null);
  });
  return {
    take(scope, key) {
      if (limits[scope] <= 0 || process.send === undefined) return fallback.take(scope, key);
      const send = process.send.bind(process);
      return new Promise((resolve) => {
        const id = next++;
        const settle = (wait: number | null) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(wait);
        };
        const timer = setTimeout(() => settle(fallback.take(scope, key)), PRIMARY_TIMEOUT_MS);
        pending.set(id, settle);
        send({ type: ASK, id, scope, key } satisfies Ask, undefined, undefined, (err) => {
          if (err) settle(fallback.take(scope, key));
        });
      });
    },
  };
}
