/**
 * `ams_http_requests_total` and `ams_http_request_duration_seconds`, counted in plain numbers and
 * handed to prom-client's registry only when it is scraped.
 *
 * Why not prom-client's Counter and Histogram: their `inc`/`observe` hash the label object and
 * search the bucket table on every call, even through a child from `labels()`. On a cached
 * `GET /assets/{id}` that was ~5.6 % of the process's CPU (W2 profile, `node --cpu-prof`); here a
 * request costs one Map lookup by a string key and a short loop. The scrape output, the type
 * (counter / histogram) and the cluster aggregation (summed) are prom-client's own format.
 */

interface Series {
  labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  buckets: Float64Array;
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric: `get()` (and `reset()` on resetMetrics). */
export interface RegistryMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }>;
  reset(): void;
}

export class RequestMetrics {
  private readonly series = new Map<string, Series>();

  constructor(private readonly bounds: readonly number[]) {}

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let one = this.series.get(key);
    if (one === undefined) {
      one = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: new Float64Array(this.bounds.length + 1) };
      this.series.set(key, one);
    }
    one.count++;
    one.sum += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] as number)) i++;
    (one.buckets[i] as number)++;
  }

  /** The two metrics to register, named and described as before the switch from prom-client's own. */
  metrics(): [RegistryMetric, RegistryMetric] {
    const reset = () => this.series.clear();
    const counter: RegistryMetric = {
      name: 'ams_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({ ...describe(counter), values: [...this.series.values()].map((s) => ({ value: s.count, labels: s.labels })) }),
      reset,
    };
    const histogram: RegistryMetric = {
      name: 'ams_http_request_duration_seconds',
      help: 'HTTP request durations by method, route pattern and status',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({ ...describe(histogram), values: [...this.series.values()].flatMap((s) => this.histogramValues(s)) }),
      reset,
    };
    return [counter, histogram];
  }

  private histogramValues(s: Series): MetricValue[] {
    const name = 'ams_http_request_duration_seconds';
    const values: MetricValue[] = [];
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += s.buckets[i] as number;
      values.push({ metricName: `${name}_bucket`, labels: { le, ...s.labels }, value: cumulative });
    });
    values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
    values.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
    values.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
    return values;
  }
}

const describe = (m: RegistryMetric) => ({ name: m.name, help: m.help, type: m.type, aggregator: m.aggregator });
