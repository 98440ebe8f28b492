/** The readiness gate: a route sends traffic only to a ready child; one bad server never blocks the others. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

describe('readiness', () => {
  let mux: Mcpmux;
  before(async () => {
    mux = await startMcpmux({
      servers: {
        stuck: fixtureServer('never-ready', { readinessProbe: { httpGet: { path: '/ready' }, periodSeconds: 0.1 } }),
        echo: { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT, readinessProbe: { mcp: {}, periodSeconds: 0.2 } },
        missing: { command: 'definitely-not-a-command-mcpmux', restartPolicy: 'Never' },
      },
    });
    await waitFor(async () => (await mux.status()).servers.find((s) => s.name === 'echo')?.state === 'ready', 'echo to be ready');
  });
  after(stopAll);

  it('answers 503 with Retry-After and a JSON-RPC body while a server is not ready', async () => {
    const res = await fetch(`${mux.publicUrl}/stuck/mcp`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.deepEqual(await res.json(), { jsonrpc: '2.0', error: { code: -31007, message: 'Server stuck is not ready (starting)', data: { reason: 'not_ready', server: 'stuck' } }, id: null });
  });

  it('turns /readyz 503 and names the servers that are not ready', async () => {
    const res = await fetch(`${mux.adminUrl}/readyz`);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'not ready: stuck, missing\n');
    assert.equal((await fetch(`${mux.adminUrl}/healthz`)).status, 200, '/healthz never depends on the children');
  });

  it('records a command that cannot start as state, and mcpmux keeps serving', async () => {
    const missing = await waitFor(async () => {
      const s = (await mux.status()).servers.find((x) => x.name === 'missing');
      return s?.state === 'failed' ? s : undefined;
    }, 'missing to be failed');
    assert.equal(missing.pid, null);
    assert.deepEqual(missing.lastExit && { reason: (missing.lastExit as { reason: string }).reason, error: (missing.lastExit as { error: string }).error }, { reason: 'spawn-failed', error: 'ENOENT' });
    assert.equal((await fetch(`${mux.publicUrl}/missing/mcp`)).status, 503);
  });

  it('serves a ready neighbour (gated by a real mcp probe) all the while', async () => {
    const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'still here' } })), 'Echo: still here');
    await client.close();
    const probes = mux.logs.filter((r) => r.server === 'echo' && r.msg === 'probe failed' && r.probe === 'readiness');
    assert.deepEqual(probes, [], 'the mcp readiness probe passes against a real server');
  });

  it('shows each server in /status with its state', async () => {
    const { servers } = await mux.status();
    assert.deepEqual(
      servers.map((s) => [s.name, s.state, s.ready]),
      [
        ['stuck', 'starting', false],
        ['echo', 'ready', true],
        ['missing', 'failed', false],
      ],
    );
  });
});
