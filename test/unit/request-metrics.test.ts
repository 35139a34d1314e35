import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry, type Metric, Registry } from 'prom-client';
import { RequestMetrics } from '../../src/ops/request-metrics.js';

const registryOf = (m: RequestMetrics) => {
  const registry = new Registry();
  for (const metric of m.metrics()) registry.registerMetric(metric as unknown as Metric);
  return registry;
};

describe('request metrics (counted by hand, scraped through prom-client)', () => {
  it('counts per method, route and status; buckets are cumulative and a value on a bound falls in it', async () => {
    const m = new RequestMetrics([0.01, 0.1, 1]);
    m.observe('GET', '/assets/:assetId', 200, 0.01);
    m.observe('GET', '/assets/:assetId', 200, 0.05);
    m.observe('GET', '/assets/:assetId', 200, 5);
    m.observe('GET', '/assets/:assetId', 404, 0.002);
    const text = await registryOf(m).metrics();
    assert.match(text, /# TYPE ams_http_requests_total counter/);
    assert.match(text, /# TYPE ams_http_request_duration_seconds histogram/);
    assert.match(text, /^ams_http_requests_total\{method="GET",route="\/assets\/:assetId",status="200"\} 3$/m);
    assert.match(text, /^ams_http_requests_total\{method="GET",route="\/assets\/:assetId",status="404"\} 1$/m);
    const bucket = (le: string) => new RegExp(`^ams_http_request_duration_seconds_bucket\\{le="${le}",method="GET",route="/assets/:assetId",status="200"\\} (\\d+)$`, 'm').exec(text)?.[1];
    assert.deepEqual(['0.01', '0.1', '1', '\\+Inf'].map(bucket), ['1', '2', '2', '3']);
    assert.match(text, /^ams_http_request_duration_seconds_sum\{method="GET",route="\/assets\/:assetId",status="200"\} 5\.06$/m);
    assert.match(text, /^ams_http_request_duration_seconds_count\{method="GET",route="\/assets\/:assetId",status="404"\} 1$/m);
  });

  it('sums across cluster workers like prom-client metrics, and resets', async () => {
    const a = new RequestMetrics([0.1]);
    const b = new RequestMetrics([0.1]);
    a.observe('POST', '/assets', 201, 0.05);
    b.observe('POST', '/assets', 201, 0.5);
    b.observe('POST', '/assets', 201, 0.07);
    const json = await Promise.all([registryOf(a).getMetricsAsJSON(), registryOf(b).getMetricsAsJSON()]);
    const text = await AggregatorRegistry.aggregate(json).metrics();
    assert.match(text, /^ams_http_requests_total\{method="POST",route="\/assets",status="201"\} 3$/m);
    assert.match(text, /^ams_http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/assets",status="201"\} 2$/m);
    const registry = registryOf(a);
    registry.resetMetrics();
    assert.doesNotMatch(await registry.metrics(), /status="201"/);
  });
});
