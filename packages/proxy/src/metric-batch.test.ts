import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BATCH_SIZE } from './metric-batch.js';
import { createProxyMetrics } from './metrics.js';

/** The value of one sample line of the exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('request metrics in batches', () => {
  it('shows every request at the next read, batch full or not', async () => {
    const registry = new Registry();
    const metrics = createProxyMetrics(registry);
    const count = BATCH_SIZE * 2 + 5;
    for (let i = 0; i < count; i++) {
      metrics.request(i % 2 === 0 ? 'GET' : 'BREW', 200, 0.002, 'http');
    }
    metrics.request('POST', 502, 0.5, 'websocket');
    const text = await registry.metrics();
    const total = 'cloudproxy_proxy_requests_total';
    expect(sample(text, `${total}{method="GET",status="200",kind="http"}`)).toBe(
      Math.ceil(count / 2),
    );
    expect(sample(text, `${total}{method="other",status="200",kind="http"}`)).toBe(
      Math.floor(count / 2),
    );
    expect(sample(text, `${total}{method="POST",status="502",kind="websocket"}`)).toBe(1);
    const latency = 'cloudproxy_proxy_request_duration_seconds';
    expect(sample(text, `${latency}_count{kind="http"}`)).toBe(count);
    expect(sample(text, `${latency}_bucket{le="0.001",kind="http"}`)).toBe(0);
    expect(sample(text, `${latency}_bucket{le="0.0025",kind="http"}`)).toBe(count);
    expect(sample(text, `${latency}_sum{kind="http"}`)).toBeCloseTo(count * 0.002, 9);
    expect(sample(text, `${latency}_count{kind="websocket"}`)).toBe(1);
  });

  it('applies the batches of every proxy sharing a registry', async () => {
    const registry = new Registry();
    const first = createProxyMetrics(registry);
    const second = createProxyMetrics(registry);
    first.request('GET', 200, 0.01, 'http');
    second.request('GET', 200, 0.01, 'http');
    const text = await registry.metrics();
    expect(
      sample(text, 'cloudproxy_proxy_requests_total{method="GET",status="200",kind="http"}'),
    ).toBe(2);
  });

  it('applies a closed proxy at once, also for requests that end after the close', async () => {
    const registry = new Registry();
    const metrics = createProxyMetrics(registry);
    metrics.request('GET', 200, 0.01, 'http');
    metrics.close();
    metrics.request('GET', 200, 0.01, 'http');
    const text = await registry.metrics();
    expect(
      sample(text, 'cloudproxy_proxy_requests_total{method="GET",status="200",kind="http"}'),
    ).toBe(2);
  });
});
