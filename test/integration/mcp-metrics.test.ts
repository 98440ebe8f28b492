/**
 * MCP-aware metrics and access log, under real SDK clients of both generations: exact counts per
 * method and tool after a known sequence of calls, the 2026-07-28 headers read (a base64 name
 * decoded), names past the per-server cap counted as `other`, and no argument ever logged.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient, initializeBody, MCP_HEADERS, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { ROOT } from '../helpers/paths.js';
import { ensurePythonVenv } from '../helpers/python.js';
import { waitFor } from '../helpers/wait.js';

const echo = { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT };

describe('MCP-aware metrics and access log', () => {
  let mux: Mcpmux;
  let bin: string;
  before(async () => {
    bin = ensurePythonVenv();
    mux = await startMcpmux({
      listen: { host: '127.0.0.1' },
      servers: { echo, capped: echo, py: { command: path.join(bin, 'python'), args: ['echo_server.py'], cwd: path.join(ROOT, 'deploy/examples/python') } },
    });
    await mux.waitReady(60_000);
  });
  after(stopAll);

  const count = async (labels: Record<string, string>) => sampleValue(await scrape(mux.adminUrl), 'mcpmux_mcp_requests_total', labels) ?? 0;

  it('counts each method and tool of a handshake-era session exactly (TypeScript SDK client)', async () => {
    const { client, transport } = await connectClient(`${mux.publicUrl}/echo/mcp`);
    await client.listTools();
    for (let i = 0; i < 3; i++) assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: `m${i}` } })), `Echo: m${i}`);
    await transport.terminateSession();
    await client.close();
    await waitFor(async () => (await count({ server: 'echo', method: 'tools/call', name: 'echo', code: '200' })) === 3, 'three tools/call echo');
    assert.equal(await count({ server: 'echo', method: 'initialize', name: '', code: '200' }), 1);
    assert.equal(await count({ server: 'echo', method: 'notifications/initialized', name: '', code: '202' }), 1);
    assert.equal(await count({ server: 'echo', method: 'tools/list', name: '', code: '200' }), 1);
    const text = await scrape(mux.adminUrl);
    assert.equal(sampleValue(text, 'mcpmux_mcp_request_duration_seconds_count', { server: 'echo', method: 'tools/call', name: 'echo' }), 3);
    const logged = mux.logs.filter((r) => r.msg === 'request' && r.server === 'echo' && r.mcpMethod === 'tools/call');
    assert.equal(logged.length, 3);
    assert.equal(logged[0]!.mcpName, 'echo');
    assert.equal(logged[0]!.protocol, '2025-11-25');
  });

  it('reads the 2026-07-28 headers of the Python SDK client in its default mode', async () => {
    const answer = JSON.parse(execFileSync(path.join(bin, 'python'), [path.join(ROOT, 'test/fixtures/py_call_tool.py'), `${mux.publicUrl}/py/mcp`, 'echo', '{"message":"modern"}'], { encoding: 'utf8', timeout: 60_000 })) as { protocol: string; text: string };
    assert.equal(answer.protocol, '2026-07-28');
    assert.equal(answer.text, 'Echo: modern');
    await waitFor(async () => (await count({ server: 'py', method: 'tools/call', name: 'echo', code: '200' })) === 1, 'the modern tools/call');
    assert.equal(await count({ server: 'py', method: 'server/discover', name: '', code: '200' }), 1);
    const record = mux.logs.find((r) => r.msg === 'request' && r.server === 'py' && r.mcpMethod === 'tools/call')!;
    assert.deepEqual([record.mcpName, record.protocol], ['echo', '2026-07-28']);
  });

  it('decodes a base64 Mcp-Name, and never logs an argument', async () => {
    const name = 'récherche';
    const res = await fetch(`${mux.publicUrl}/py/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': `=?base64?${Buffer.from(name).toString('base64')}?=`, 'mcp-param-secret': 'do-not-log-this' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: { secret: 'do-not-log-this' } } }),
    });
    await res.arrayBuffer();
    await waitFor(async () => (await count({ server: 'py', method: 'tools/call', name, code: String(res.status) })) === 1, 'the decoded name counted');
    assert.ok(!mux.logs.some((r) => JSON.stringify(r).includes('do-not-log-this')), 'an argument reached the log');
  });

  it('counts what a JSON answer says of its call: a tool error, a JSON-RPC error code, or nothing', async () => {
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
    const call = async (method: string, params: Record<string, unknown>, name?: string) => {
      const res = await fetch(`${mux.publicUrl}/py/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta } }),
      });
      return [res.status, await res.json()] as const;
    };
    const [, failed] = await call('tools/call', { name: 'outcome-probe', arguments: {} }, 'outcome-probe');
    assert.equal((failed as { result: { isError: boolean } }).result.isError, true, 'the server answers an unknown tool with isError');
    const [status, unknown] = await call('bogus/method', {});
    assert.deepEqual([status, (unknown as { error: { code: number } }).error.code], [404, -32601]);
    await call('tools/call', { name: 'echo', arguments: { message: 'fine' } }, 'echo');
    await waitFor(async () => (await count({ server: 'py', method: 'other', code: '404', error_type: '-32601' })) === 1, 'the -32601 answer');
    assert.equal(await count({ server: 'py', method: 'tools/call', name: 'outcome-probe', code: '200', error_type: 'tool_error' }), 1);
    assert.equal(await count({ server: 'py', method: 'tools/call', name: 'echo', code: '200', error_type: 'tool_error' }), 0, 'a good call is no tool error');
    const logged = mux.logs.filter((r) => r.msg === 'request' && r.server === 'py' && (r.mcpName === 'outcome-probe' || r.mcpMethod === 'other'));
    assert.deepEqual(logged.map((r) => r.mcpError), ['tool_error', '-32601']);
  });

  it('counts names past the per-server cap as other', async () => {
    const post = async (name: string) => {
      const res = await fetch(`${mux.publicUrl}/capped/mcp`, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } }) });
      await res.arrayBuffer();
      return res.status;
    };
    const statuses = new Set<number>();
    for (let i = 0; i < 105; i++) statuses.add(await post(`tool-${i}`));
    const [status] = statuses;
    await waitFor(async () => (await count({ server: 'capped', method: 'tools/call', name: 'other', code: String(status) })) === 5, 'five calls counted as other');
    const names = new Set([...(await scrape(mux.adminUrl)).matchAll(/^mcpmux_mcp_requests_total\{[^}]*server="capped"[^}]*name="([^"]*)"/gm)].map((m) => m[1]));
    assert.equal(names.size, 101, 'the cap of 100 names, and other');
    assert.ok(names.has('tool-99') && !names.has('tool-100'));
  });

  it('counts nothing MCP for a request that is not a POST', async () => {
    const res = await fetch(`${mux.publicUrl}/echo/mcp`, { method: 'POST', headers: MCP_HEADERS, body: initializeBody() });
    await res.text();
    const get = await fetch(`${mux.publicUrl}/echo/mcp`, { headers: { accept: 'text/event-stream', 'mcp-method': 'tools/call' } });
    await get.arrayBuffer();
    const text = await scrape(mux.adminUrl);
    assert.ok(!/mcpmux_mcp_requests_total\{[^}]*server="echo"[^}]*code="(400|405)"/.test(text), 'a GET is not an MCP call');
  });
});
