import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics, normalizeMethod } from '../../../src/admin/metrics.js';
import { createEvents } from '../../../src/events.js';

const finished = (server: string, method: string, status: number) => ({
  server, method, path: '/x', status, durationMs: 5, firstByteMs: 1, bytes: 10, session: undefined, forwarded: true, pid: 1, aborted: false, mcp: { method: 'tools/call', name: 'echo', protocol: undefined }, mcpError: '',
});

describe('metrics', () => {
  it('keeps method labels bounded', () => {
    assert.deepEqual(['GET', 'POST', 'DELETE', 'PROPFIND', 'get', undefined].map(normalizeMethod), ['GET', 'POST', 'DELETE', 'other', 'other', 'other']);
  });

  it('deletes every series of a removed server, and only those', async () => {
    const events = createEvents();
    let servers = [{ name: 'a', pid: null }, { name: 'b', pid: null }];
    const metrics = createMetrics(events, () => servers);
    for (const server of ['a', 'b']) {
      events.emit('request-started', { server });
      events.emit('request-finished', finished(server, 'POST', 200));
      events.emit('request-finished', finished(server, 'GET', 503));
      events.emit('restart-scheduled', { server, replica: 0, delayMs: 1, reason: 'crashed', attempt: 1 });
      events.emit('probe-result', { server, role: 'liveness', kind: 'tcpSocket', outcome: 'failure', message: '', durationMs: 1 });
    }
    servers = servers.filter((s) => s.name !== 'a');
    metrics.removeServer('a');
    const text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /server="a"/);
    assert.match(text, /mcpmux_requests_total\{server="b",method="POST",code="200"\} 1/);
    assert.match(text, /mcpmux_server_restarts_total\{server="b",reason="crashed"\} 1/);
  });
});

describe('the tracing metrics', () => {
  it('are not there with tracing off', async () => {
    const text = await createMetrics(createEvents(), () => []).registry.metrics();
    assert.doesNotMatch(text, /mcpmux_trace_/);
  });

  it('read the tracer\'s span counts at each scrape', async () => {
    let stats = { exported: 0, failed: 0, dropped: 0 };
    const { registry } = createMetrics(createEvents(), () => [], { tracing: () => stats });
    assert.match(await registry.metrics(), /^mcpmux_trace_spans_exported_total 0$/m);
    stats = { exported: 12, failed: 3, dropped: 7 };
    const text = await registry.metrics();
    assert.match(text, /^mcpmux_trace_spans_exported_total 12$/m);
    assert.match(text, /^mcpmux_trace_spans_failed_total 3$/m);
    assert.match(text, /^mcpmux_trace_spans_dropped_total 7$/m);
  });
});
