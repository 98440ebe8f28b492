/**
 * What of a stdio server's bridge the public route reaches (issue 21, item 8): its MCP endpoint,
 * and nothing of its own. /status, /readyz and /healthz answer mcpmux alone (its key), so no
 * client learns pids, session counts or when slots free up; mcpmux's probes and /status still
 * read them. And a client cannot pass for another: its own `Mcpmux-Client` never reaches the bridge.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { initializeBody, MCP_HEADERS } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { fixture } from '../helpers/paths.js';
import { sampleValue, scrape } from '../helpers/metrics.js';

describe("a stdio server's bridge behind the public route", () => {
  let mux: Mcpmux;
  before(async () => {
    mux = await startMcpmux({ servers: { raw: { transport: 'stdio', command: process.execPath, args: [fixture('stdio-raw')], stdio: { sessionRate: { perSecond: 0.1, burst: 2 } } } } });
    await mux.waitReady(30_000);
  });
  after(stopAll);

  for (const path of ['/status', '/readyz', '/healthz', '/status?x=1']) {
    it(`answers ${path} under the route with 404 and nothing of the bridge`, async () => {
      const res = await fetch(`${mux.publicUrl}/raw${path}`);
      const body = await res.text();
      assert.equal(res.status, 404);
      assert.doesNotMatch(body, /pids|sessions|ready/);
      // A guessed key opens nothing either.
      const guessed = await fetch(`${mux.publicUrl}/raw${path}`, { headers: { 'mcpmux-bridge-key': 'x'.repeat(43) } });
      assert.equal(guessed.status, 404);
      await guessed.arrayBuffer();
    });
  }

  it('keeps its readiness probe and its figures in /status and the metrics', async () => {
    const [server] = (await mux.status()).servers as unknown as { ready: boolean; stdio: { sessions: number; ready: boolean } | null }[];
    assert.equal(server!.ready, true);
    assert.equal(server!.stdio?.ready, true);
    assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_stdio_warm_processes', { server: 'raw' }), 1);
  });

  it('never lets a client name itself another client (Mcpmux-Client): its rate holds whatever it claims', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${mux.publicUrl}/raw/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, 'mcpmux-client': `10.9.9.${i}` }, body: initializeBody() });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    // A burst of 2, then one every 10 s: the claimed addresses changed nothing.
    assert.deepEqual(statuses, [200, 200, 429, 429]);
  });
});
