/**
 * The seed case from the original report: /echo/mcp and /math/mcp behind one port, each its own
 * process with its own lifespan; no 307, no "Task group is not initialized". Runs
 * deploy/examples/seed.yaml as it ships.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { SEED_CONFIG } from '../helpers/paths.js';
import { isAlive, waitFor } from '../helpers/wait.js';

describe('the seed case: echo and math behind one port', () => {
  let mux: Mcpmux;
  before(async () => {
    mux = await startMcpmux({ file: SEED_CONFIG });
    await mux.waitReady();
  });
  after(stopAll);

  it('lists and calls echo on /echo/mcp with the SDK client', async () => {
    const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['echo']);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } })), 'Echo: hi');
    await client.close();
  });

  it('lists and calls add_two on /math/mcp with the SDK client', async () => {
    const { client } = await connectClient(`${mux.publicUrl}/math/mcp`);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['add_two']);
    assert.equal(textOf(await client.callTool({ name: 'add_two', arguments: { m: 2, n: 3 } })), '5');
    await client.close();
  });

  it('answers POST /math/mcp itself, with no redirect', async () => {
    const res = await fetch(`${mux.publicUrl}/math/mcp`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
      }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /"serverInfo":\{"name":"math"/);
  });

  it('runs each server as its own process on its own loopback port', async () => {
    const { servers } = await mux.status();
    assert.deepEqual(servers.map((s) => [s.name, s.prefix, s.state]), [
      ['echo', '/echo', 'ready'],
      ['math', '/math', 'ready'],
    ]);
    const [echo, math] = servers;
    assert.notEqual(echo!.pid, math!.pid);
    assert.notEqual(echo!.port, math!.port);
  });

  it('stops on SIGTERM with exit code 0 and leaves no child process behind', async () => {
    const pids = (await mux.status()).servers.map((s) => s.pid!);
    assert.ok(pids.every(isAlive));
    assert.equal(await mux.stop('SIGTERM'), 0);
    await waitFor(() => pids.every((pid) => !isAlive(pid)), 'every child pid to be gone', 2000);
  });
});
