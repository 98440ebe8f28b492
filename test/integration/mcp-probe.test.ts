/**
 * The `mcp` probe negotiates the revision as the SDKs' clients do: `server/discover` at
 * 2026-07-28 first, the initialize handshake for older servers. Against real servers: one that
 * serves only the handshake (TypeScript SDK 1.x), one that serves both (Python SDK 2.x), and one
 * that serves only 2026-07-28 (Python SDK 2.x, its handshake refused).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { probeMcp } from '../../src/probe/mcp.js';
import { initializeBody, MCP_HEADERS } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { ROOT } from '../helpers/paths.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { ensurePythonVenv } from '../helpers/python.js';
import { waitFor } from '../helpers/wait.js';

const children: ChildProcess[] = [];

async function serve(command: string, args: string[], cwd = ROOT): Promise<number> {
  const port = await freePort();
  children.push(spawn(command, args, { cwd, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' }, stdio: 'ignore' }));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: '{}' }).catch(() => undefined)) !== undefined, `a server on port ${port}`, 30_000);
  return port;
}

describe('the mcp probe', () => {
  let python: string;
  const ports: Record<string, number> = {};
  before(async () => {
    python = path.join(ensurePythonVenv(), 'python');
    const [old, both, modern] = await Promise.all([
      serve(process.execPath, ['dist/servers/echo/main.js']),
      serve(python, ['echo_server.py'], path.join(ROOT, 'deploy/examples/python')),
      serve(python, [path.join(ROOT, 'test/fixtures/py_modern_only.py')]),
    ]);
    Object.assign(ports, { old, both, modern });
  });
  after(async () => {
    for (const child of children) child.kill('SIGTERM');
    await stopAll();
  });

  const probe = (port: number) => probeMcp({ host: '127.0.0.1', port }, { path: '/mcp' }, 5);

  it('passes a server that serves only the handshake, by the handshake', async () => {
    assert.deepEqual(await probe(ports.old!), { outcome: 'success', message: 'MCP echo answered ping' });
  });

  it('passes a server that serves both revisions, by server/discover', async () => {
    const result = await probe(ports.both!);
    assert.equal(result.outcome, 'success');
    assert.match(result.message, /answered server\/discover \(2026-07-28\)/);
  });

  it('passes a server that serves only 2026-07-28, which the handshake alone would fail', async () => {
    const handshake = await fetch(`http://127.0.0.1:${ports.modern}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: initializeBody() });
    assert.equal(handshake.status, 400, 'the handshake is refused');
    assert.match(await handshake.text(), /-32022/);
    const result = await probe(ports.modern!);
    assert.equal(result.outcome, 'success', result.message);
    assert.match(result.message, /server\/discover/);
  });

  it('fails a server that refuses both, naming why', async () => {
    const result = await probe(await freePort());
    assert.equal(result.outcome, 'failure');
    assert.match(result.message, /ECONNREFUSED|fetch failed/);
  });

  it('keeps a 2026-07-28-only server ready behind mcpmux, with no restart', async () => {
    const mux = await startMcpmux({
      servers: { modern: { command: python, args: [path.join(ROOT, 'test/fixtures/py_modern_only.py')], readinessProbe: { mcp: {}, periodSeconds: 0.2, timeoutSeconds: 5 }, livenessProbe: { mcp: {}, periodSeconds: 0.2, timeoutSeconds: 5 } } },
    });
    await mux.waitReady(30_000);
    const liveness = { server: 'modern', probe: 'liveness' };
    await waitFor(async () => sampleValue(await scrape(mux.adminUrl), 'mcpmux_probe_duration_seconds_count', liveness)! >= 10, 'ten liveness probes', 20_000);
    // A handshake-only probe would fail every one of them (the server refuses initialize).
    const text = await scrape(mux.adminUrl);
    const failures = sampleValue(text, 'mcpmux_probe_failures_total', liveness) ?? 0;
    assert.ok(failures <= 1, `${failures} of ${sampleValue(text, 'mcpmux_probe_duration_seconds_count', liveness)} liveness probes failed`);
    const server = (await mux.status()).servers[0]!;
    assert.equal(server.state, 'ready');
    assert.equal(server.restarts, 0);
  });
});
