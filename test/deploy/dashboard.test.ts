/**
 * deploy/helm/mcpmux/dashboards/mcpmux.json (shipped in the Helm chart): every panel's query, run by a real Prometheus scraping a
 * real mcpmux under traffic (an HTTP server and a stdio server, tool calls and errors), returns
 * data. Grafana's variables are given the values Grafana would: `$server` all, `$__rate_interval` 1m.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureDebianCommand } from '../helpers/debian.js';
import { connectClient, MCP_HEADERS } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { fixture, makeTempDir, ROOT } from '../helpers/paths.js';
import { otlpReceiver } from '../helpers/otlp.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

interface Dashboard {
  panels: { title: string; targets: { expr: string; exemplar?: boolean }[] }[];
  templating: { list: { name: string }[] };
}

const DASHBOARD = path.join(ROOT, 'deploy/helm/mcpmux/dashboards/mcpmux.json');

describe('the Grafana dashboard', () => {
  after(stopAll);

  it('has a query on every panel, and every query returns data from a real Prometheus scraping mcpmux', { timeout: 120_000 }, async (t) => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'server']);
    const queries = dashboard.panels.flatMap((panel) => {
      assert.ok(panel.targets.length > 0, `${panel.title} has a query`);
      return panel.targets.map((target) => ({ panel: panel.title, expr: target.expr.replaceAll('$server', '.*').replaceAll('$__rate_interval', '1m') }));
    });

    const prometheus = ensureDebianCommand('prometheus', 'prometheus');
    // Tracing on (every request sampled), so that the exemplar panel has exemplars to show.
    const receiver = await otlpReceiver();
    const mux = await startMcpmux({
      listen: { host: '127.0.0.1' },
      tracing: { endpoint: receiver.url },
      servers: {
        echo: { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT },
        tiny: { transport: 'stdio', command: process.execPath, args: [fixture('stdio-tiny')] },
      },
    });
    await mux.waitReady(30_000);
    const dir = makeTempDir('mcpmux-dashboard-');
    writeFileSync(path.join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: mcpmux\n    static_configs: [{ targets: ['${new URL(mux.adminUrl).host}'] }]\n`);
    const port = await freePort();
    const prom = spawn(prometheus, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--enable-feature=exemplar-storage'], { stdio: 'ignore' });
    let traffic = true;
    try {
      // Traffic through the whole window: tool calls on both servers, and calls that fail (400: no session).
      const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
      const stdio = await connectClient(`${mux.publicUrl}/tiny/mcp`);
      const load = (async () => {
        while (traffic) {
          await client.callTool({ name: 'echo', arguments: { message: 'x' } });
          await stdio.client.callTool({ name: 'add', arguments: { n: 1 } });
          const refused = await fetch(`${mux.publicUrl}/echo/mcp`, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo' } }) });
          await refused.arrayBuffer();
        }
      })();
      const query = async (q: string) => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
        if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
        return body.data!.result.length;
      };
      const empty = await waitFor(async () => {
        const missing: string[] = [];
        for (const { panel, expr } of queries) if ((await query(expr)) === 0) missing.push(`${panel}: ${expr}`);
        return missing.length === 0 ? [] : undefined;
      }, 'every dashboard query to return data', 60_000, 1000).catch((error: Error) => error);
      traffic = false;
      await load;
      await Promise.all([client.close(), stdio.client.close()]);
      if (empty instanceof Error) {
        const missing: string[] = [];
        for (const { panel, expr } of queries) if ((await query(expr)) === 0) missing.push(`${panel}: ${expr}`);
        assert.deepEqual(missing, [], 'queries that returned no data');
      }
      t.diagnostic(`${queries.length} queries on ${dashboard.panels.length} panels returned data`);
      // The exemplar panel's query has exemplars in Prometheus: trace ids that the receiver got spans of.
      const exemplarQueries = dashboard.panels.flatMap((panel) => panel.targets.filter((target) => target.exemplar).map((target) => target.expr.replaceAll('$server', '.*').replaceAll('$__rate_interval', '1m')));
      assert.ok(exemplarQueries.length > 0, 'a panel shows exemplars');
      for (const expr of exemplarQueries) {
        const now = Date.now() / 1000;
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query_exemplars?query=${encodeURIComponent(expr)}&start=${now - 600}&end=${now + 60}`);
        const body = (await res.json()) as { status: string; data: { exemplars: { labels: { trace_id?: string } }[] }[] };
        const traceIds = body.data.flatMap((series) => series.exemplars.map((e) => e.labels.trace_id));
        assert.ok(traceIds.length > 0, `${expr} has exemplars`);
        assert.ok(traceIds.some((id) => id !== undefined && receiver.spansOf(id).length > 0), 'an exemplar names a trace the collector has');
      }
    } finally {
      traffic = false;
      prom.kill('SIGKILL');
      await (await otlpReceiver()).stop();
    }
  });
});
