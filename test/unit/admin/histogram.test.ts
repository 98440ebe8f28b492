import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from '../../../src/admin/histogram.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];
const OBSERVED: [Record<string, string>, number][] = [
  [{ server: 'echo', method: 'POST' }, 0.0005],
  [{ server: 'echo', method: 'POST' }, 0.001],
  [{ server: 'echo', method: 'POST' }, 0.05],
  [{ server: 'echo', method: 'GET' }, 7],
  [{ server: 'math', method: 'POST' }, 0.3],
  [{ server: 'math', method: 'POST' }, Number.NaN],
];

async function exposition(make: (registry: Registry) => (labels: Record<string, string>, value: number) => void): Promise<string> {
  const registry = new Registry();
  const observe = make(registry);
  for (const [labels, value] of OBSERVED) observe(labels, value);
  return registry.metrics();
}

describe('SeriesHistogram', () => {
  it("writes the same exposition as prom-client's Histogram for the same observations", async () => {
    const theirs = await exposition((registry) => {
      const histogram = new Histogram({ name: 'h_seconds', help: 'help', labelNames: ['server', 'method'], buckets: BOUNDS, registers: [registry] });
      return (labels, value) => {
        if (Number.isFinite(value)) histogram.observe(labels, value);
      };
    });
    const ours = await exposition((registry) => {
      const histogram = new SeriesHistogram('h_seconds', 'help', BOUNDS, [registry]);
      const series = new Map<string, ReturnType<typeof histogram.series>>();
      return (labels, value) => {
        const key = `${labels.server}/${labels.method}`;
        if (!series.has(key)) series.set(key, histogram.series(labels));
        series.get(key)!.observe(value);
      };
    });
    assert.equal(ours, theirs);
    assert.match(ours, /h_seconds_bucket\{le="0.001",server="echo",method="POST"\} 2\n/);
  });

  it('drops the series it is told to, and only those', async () => {
    const registry = new Registry();
    const histogram = new SeriesHistogram('h_seconds', 'help', BOUNDS, [registry]);
    histogram.series({ server: 'echo' }).observe(0.5);
    histogram.series({ server: 'math' }).observe(0.5);
    histogram.remove((labels) => labels.server === 'echo');
    const text = await registry.metrics();
    assert.doesNotMatch(text, /server="echo"/);
    assert.match(text, /h_seconds_count\{server="math"\} 1/);
  });

  it('writes the latest traced observation of a bucket as its exemplar in OpenMetrics, and nothing of it in the Prometheus format', async () => {
    const make = (openMetrics = false) => {
      const registry = new Registry();
      // prom-client types a registry by its format; the same registry switched to OpenMetrics.
      if (openMetrics) (registry as unknown as Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      const series = new SeriesHistogram('t_seconds', 'help', BOUNDS, [registry]).series({ server: 'echo' });
      series.observe(0.05, '0af7651916cd43dd8448eb211c80319c');
      series.observe(0.07, '4bf92f3577b34da6a3ce929d0e0e4736');
      series.observe(0.0005);
      series.observe(9, 'ffffffffffffffffffffffffffffffff');
      return registry.metrics();
    };
    const open = await make(true);
    assert.match(open, /^t_seconds_bucket\{le="0\.1",server="echo"\} 3 # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"\} 0\.07 \d+(\.\d+)?$/m);
    assert.match(open, /^t_seconds_bucket\{le="\+Inf",server="echo"\} 4 # \{trace_id="ffffffffffffffffffffffffffffffff"\} 9 /m);
    assert.match(open, /^t_seconds_bucket\{le="0\.001",server="echo"\} 1$/m);
    assert.doesNotMatch(await make(), /trace_id/);
  });
});
