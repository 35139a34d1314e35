import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Upload stages as the pipeline runs them; `hash` is the hashing share of `receive`. */
export type UploadStage = 'receive' | 'hash' | 'probe' | 'store' | 'commit';

const LATENCY = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * One registry per app (tests run several apps in one process; a global registry would mix them).
 * Transform and cache metrics are defined here for the derivative code to observe.
 */
export function createMetrics(uploadsInFlight: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ams_' });
  const m = {
    registry,
    requests: new Counter({
      name: 'ams_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'ams_http_request_duration_seconds',
      help: 'HTTP request durations by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: LATENCY,
      registers: [registry],
    }),
    uploadBytes: new Counter({ name: 'ams_upload_bytes_total', help: 'Bytes of uploads received', registers: [registry] }),
    uploadStageSeconds: new Histogram({
      name: 'ams_upload_stage_duration_seconds',
      help: 'Time spent per upload stage: receive, hash, probe, store, commit',
      labelNames: ['stage'] as const,
      buckets: LATENCY,
      registers: [registry],
    }),
    transformSeconds: new Histogram({
      name: 'ams_transform_duration_seconds',
      help: 'Image transform durations by output format',
      labelNames: ['format'] as const,
      buckets: LATENCY,
      registers: [registry],
    }),
    cacheRequests: new Counter({
      name: 'ams_derivative_cache_total',
      help: 'Derivative lookups by result (hit or miss)',
      labelNames: ['result'] as const,
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
  for (const stage of ['receive', 'hash', 'probe', 'store', 'commit'] as const) m.uploadStageSeconds.zero({ stage });
  for (const result of ['hit', 'miss'] as const) m.cacheRequests.inc({ result }, 0);
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
