/** /metrics after real traffic, checked by promtool and scraped by a real Prometheus. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureDebianCommand } from '../helpers/debian.js';
import { connectClient } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { makeTempDir, ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

describe('metrics', () => {
  let mux: Mcpmux;
  let promtool: string;
  let prometheus: string;
  before(async () => {
    promtool = ensureDebianCommand('promtool', 'prometheus');
    prometheus = ensureDebianCommand('prometheus', 'prometheus');
    mux = await startMcpmux({
      listen: { host: '127.0.0.1' },
      servers: {
        math: { command: process.execPath, args: ['dist/servers/math/main.js'], cwd: ROOT },
        raw: fixtureServer('raw-http'),
      },
    });
    await mux.waitReady();
  });
  after(stopAll);

  it('passes promtool check metrics on a real scrape', async () => {
    await fetch(`${mux.publicUrl}/raw/headers`);
    const text = await scrape(mux.adminUrl);
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // promtool exits 3 for lint findings: prom-client's own default gauges nodejs_active_*_total
    // carry a "_total" suffix. Nothing of mcpmux's may show up, and nothing may be an error.
    const findings = `${check.stdout}${check.stderr}`.split('\n').filter(Boolean);
    assert.ok(check.status === 0 || check.status === 3, `promtool exit ${check.status}: ${findings.join('; ')}`);
    assert.deepEqual(findings.filter((line) => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(line)), []);
    assert.match(text, /^# TYPE mcpmux_requests_total counter$/m);
  });

  it('counts exactly the calls made, by server, method and code', async () => {
    const labels = { server: 'math', method: 'POST', code: '200' };
    const { client } = await connectClient(`${mux.publicUrl}/math/mcp`);
    const before = sampleValue(await scrape(mux.adminUrl), 'mcpmux_requests_total', labels) ?? 0;
    for (let i = 0; i < 10; i++) await client.callTool({ name: 'add_two', arguments: { m: i, n: 1 } });
    const after = sampleValue(await scrape(mux.adminUrl), 'mcpmux_requests_total', labels);
    assert.equal(after, before + 10);
    await client.close();

    for (let i = 0; i < 3; i++) await fetch(`${mux.publicUrl}/nowhere`);
    assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_requests_total', { server: '', method: 'GET', code: '404' }), 3);
  });

  it('times an SSE response to its end, and its first byte to the headers', async () => {
    const res = await fetch(`${mux.publicUrl}/raw/sse?n=4&ms=100`);
    await res.text();
    const text = await scrape(mux.adminUrl);
    const whole = sampleValue(text, 'mcpmux_request_duration_seconds_sum', { server: 'raw', method: 'GET' })!;
    const first = sampleValue(text, 'mcpmux_request_first_byte_seconds_sum', { server: 'raw', method: 'GET' })!;
    assert.ok(whole >= 0.35, `the stream took ${whole} s in all`);
    assert.ok(first < whole - 0.3, `its headers came at ${first} s`);
    assert.equal(sampleValue(text, 'mcpmux_request_duration_seconds_bucket', { server: 'raw', method: 'GET', le: '600' }), sampleValue(text, 'mcpmux_request_duration_seconds_count', { server: 'raw', method: 'GET' }));
  });

  it('measures the memory of the whole process group', async () => {
    const rss = sampleValue(await scrape(mux.adminUrl), 'mcpmux_server_resident_memory_bytes', { server: 'math' })!;
    assert.ok(rss > 10 * 1024 * 1024, `math's group holds ${rss} bytes`);
    assert.ok(sampleValue(await scrape(mux.adminUrl), 'mcpmux_server_cpu_seconds_total', { server: 'math' })! > 0);
  });

  it('flips server_up and server_ready on a kill, counts the restart with its reason, and flips back', async () => {
    // The first restart is immediate; the second waits out the backoff, long enough to see.
    const first = (await mux.status()).servers.find((s) => s.name === 'raw')!.pid!;
    process.kill(first, 'SIGKILL');
    const pid = await waitFor(async () => {
      const s = (await mux.status()).servers.find((x) => x.name === 'raw')!;
      return s.state === 'ready' && s.pid !== first ? s.pid! : undefined;
    }, 'the first restart');
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => {
      const text = await scrape(mux.adminUrl);
      return sampleValue(text, 'mcpmux_server_up', { server: 'raw' }) === 0 && sampleValue(text, 'mcpmux_server_ready', { server: 'raw' }) === 0;
    }, 'up and ready to drop to 0');
    await waitFor(async () => {
      const text = await scrape(mux.adminUrl);
      return sampleValue(text, 'mcpmux_server_up', { server: 'raw' }) === 1 && sampleValue(text, 'mcpmux_server_ready', { server: 'raw' }) === 1;
    }, 'up and ready to come back to 1');
    const text = await scrape(mux.adminUrl);
    assert.equal(sampleValue(text, 'mcpmux_server_restarts_total', { server: 'raw', reason: 'crashed' }), 2);
    assert.equal(sampleValue(text, 'mcpmux_server_ready', { server: 'math' }), 1, 'the neighbour never left');
  });

  it('is scraped by a real Prometheus: mcpmux_server_ready == 1 and up == 1', async () => {
    const dir = makeTempDir('mcpmux-prom-');
    const adminTarget = new URL(mux.adminUrl).host;
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: mcpmux\n    static_configs: [{ targets: ['${adminTarget}'] }]\n`,
    );
    const port = await freePort();
    const prom = spawn(prometheus, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      const query = async (q: string) => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        return body.data.result.map((r) => r.value[1]);
      };
      assert.deepEqual(await waitFor(async () => ((await query('mcpmux_server_ready{server="math"}')).length ? query('mcpmux_server_ready{server="math"}') : undefined), 'Prometheus to have scraped mcpmux', 30_000), ['1']);
      assert.deepEqual(await query('up{job="mcpmux"}'), ['1']);
    } finally {
      prom.kill('SIGKILL');
    }
  });
});
