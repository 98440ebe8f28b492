/**
 * A browser client whose Origin mcpmux's guard allows (listen.allowedOrigins) reaches children
 * whose own DNS-rebinding guards are on: the Python SDK's (loopback origins only, by default) and
 * the TypeScript SDK's (its own origin only). mcpmux sends the child its own loopback origin, as
 * it does Host. An Origin the guard refuses still gets 403 from mcpmux.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initializeBody, MCP_HEADERS } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { fixture, ROOT } from '../helpers/paths.js';
import { ensurePythonVenv } from '../helpers/python.js';

const APP = 'https://app.example.com';

describe('a browser Origin that mcpmux allows', () => {
  let mux: Mcpmux;
  before(async () => {
    const bin = ensurePythonVenv();
    mux = await startMcpmux({
      listen: { host: '127.0.0.1', allowedOrigins: [APP] },
      servers: {
        py: { command: path.join(bin, 'python'), args: ['echo_server.py'], cwd: path.join(ROOT, 'deploy/examples/python') },
        ts: { command: process.execPath, args: [fixture('origin-guarded')] },
      },
    });
    await mux.waitReady(60_000);
  });
  after(stopAll);

  const initialize = (url: string, origin: string) => fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, origin }, body: initializeBody() });

  for (const [server, sdk] of [['py', 'Python'], ['ts', 'TypeScript']] as const) {
    it(`reaches a ${sdk} SDK child with DNS-rebinding protection on, which refuses that Origin directly`, async () => {
      const through = await initialize(`${mux.publicUrl}/${server}/mcp`, APP);
      assert.equal(through.status, 200, await through.clone().text());
      assert.match(await through.text(), /"serverInfo"/);
      const child = (await mux.status()).servers.find((s) => s.name === server)!;
      const direct = await initialize(`http://127.0.0.1:${child.port}/mcp`, APP);
      assert.equal(direct.status, 403, 'the child refuses the public origin itself: mcpmux must not hand it on');
      await direct.arrayBuffer();
    });
  }

  it('still refuses an Origin outside listen.allowedOrigins with 403, from mcpmux', async () => {
    const res = await initialize(`${mux.publicUrl}/py/mcp`, 'https://evil.example.com');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Forbidden: this Origin is not allowed/, "mcpmux's own refusal, not the child's");
  });
});
