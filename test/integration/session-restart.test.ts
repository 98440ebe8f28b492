/** After a child restarts, its old sessions are gone: 404, and the SDK client can start a new one. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { waitFor } from '../helpers/wait.js';

describe('sessions across a restart', () => {
  after(stopAll);

  it('answers 404 to the old session id, and a new session works through mcpmux', async () => {
    const mux = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { state: fixtureServer('stateful') } });
    await mux.waitReady();
    const url = `${mux.publicUrl}/state/mcp`;
    const old = await connectClient(url);
    const oldSession = old.transport.sessionId!;
    const oldPid = (await mux.status()).servers[0]!.pid!;

    process.kill(oldPid, 'SIGKILL');
    await waitFor(async () => {
      const s = (await mux.status()).servers[0]!;
      return s.state === 'ready' && s.pid !== oldPid;
    }, 'a new process to be ready');

    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': oldSession, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(res.status, 404, 'the old session id is unknown to the new process');
    await assert.rejects(old.client.listTools(), 'the old SDK client sees its session gone');
    await old.client.close().catch(() => undefined);

    const fresh = await connectClient(url);
    assert.notEqual(fresh.transport.sessionId, oldSession);
    assert.equal(textOf(await fresh.client.callTool({ name: 'progress', arguments: { count: 1, intervalMs: 1 } })), 'sent 1');
    await fresh.client.close();
    assert.equal(await mux.stop(), 0);
  });
});
