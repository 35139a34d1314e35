import { Counter, Gauge, Histogram, type Metric, Registry, collectDefaultMetrics, register as globalRegistry } from 'prom-client';
import { RequestMetrics } from './request-metrics.js';

/** Upload stages as the pipeline runs them; `hash` is the hashing share of `receive`. */
export type UploadStage = 'receive' | 'hash' | 'probe' | 'store' | 'commit';

const LATENCY = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * One registry per app (tests run several apps in one process; a global registry would mix them),
 * merged with the default registry where the derivative metrics live.
 */
export function createMetrics(uploadsInFlight: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ams_' });
  const m = {
    registry,
    /** Per request: method, route pattern, status, duration (see request-metrics.ts). */
    http: new RequestMetrics(LATENCY),
    uploadBytes: new Counter({ name: 'ams_upload_bytes_total', help: 'Bytes of uploads received', registers: [registry] }),
    uploadStageSeconds: new Histogram({
      name: 'ams_upload_stage_duration_seconds',
      help: 'Time spent per upload stage: receive, hash, probe, store, commit',
      labelNames: ['stage'] as const,
      buckets: LATENCY,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'ams_uploads_in_flight',
      help: 'Uploads currently being received or committed',
      registers: [registry],
      collect() {
        this.set(uploadsInFlight());
      },
    }),
  };
  for (const metric of m.http.metrics()) registry.registerMetric(metric as unknown as Metric);
  for (const stage of ['receive', 'hash', 'probe', 'store', 'commit'] as const) m.uploadStageSeconds.zero({ stage });
  // The derivative counters (transforms, cache hits, coalesced, durations) live on prom-client's
  // default registry (src/derivatives/metrics.ts); one scrape shows both.
  return { ...m, registry: Registry.merge([registry, globalRegistry]) };
}
export type Metrics = ReturnType<typeof createMetrics>;
