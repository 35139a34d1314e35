/**
 * Derivative counters on prom-client's default registry, so a /metrics endpoint exposes them
 * without knowing about derivatives, and tests can see a cache hit without timing anything.
 */
import { Counter, Histogram } from 'prom-client';

export const derivativeMetrics = {
  transforms: new Counter({
    name: 'ams_derivative_transforms_total',
    help: 'Image transforms run (cache misses that did the work), by output format and outcome.',
    labelNames: ['format', 'outcome'] as const,
  }),
  hits: new Counter({
    name: 'ams_derivative_cache_hits_total',
    help: 'Derivative requests answered from the blob store without a transform.',
  }),
  coalesced: new Counter({
    name: 'ams_derivative_coalesced_total',
    help: 'Derivative requests that waited for an identical transform already running (single flight).',
  }),
  storeFailures: new Counter({
    name: 'ams_derivative_store_failures_total',
    help: 'Derivative writes that failed: nothing was cached, the next request computes again.',
  }),
  seconds: new Histogram({
    name: 'ams_derivative_transform_seconds',
    help: 'Time to read the source and transform it.',
    labelNames: ['format'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
};

/** The total of a counter across its labels (for tests and `ams` diagnostics). */
export async function counterTotal(counter: Counter<string>): Promise<number> {
  const { values } = await counter.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}
