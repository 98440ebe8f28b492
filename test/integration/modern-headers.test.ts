/**
 * The 2026-07-28 wire puts tool arguments marked x-mcp-header into Mcp-Param-* headers (base64
 * where not ASCII, a third larger). With the default limits, a 20 KB argument and 150 headers
 * reach the child, as they would directly; past the limits, 431 from mcpmux.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';

describe('header limits sized for the 2026-07-28 wire', () => {
  let mux: Mcpmux;
  before(async () => {
    // The child takes large headers itself (Node's own default is 16 KiB), as uvicorn does.
    const raw = fixtureServer('raw-http');
    mux = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { raw: { ...raw, args: ['--max-http-header-size=131072', ...(raw.args as string[])] } } });
    await mux.waitReady();
  });
  after(stopAll);

  it('passes a 20 KB Mcp-Param header (base64) and 150 headers to the child', async () => {
    const query = Buffer.from('ü'.repeat(7_500)).toString('base64');
    const headers: Record<string, string> = { 'mcp-method': 'tools/call', 'mcp-name': 'search', 'mcp-param-query': `=?base64?${query}?=` };
    for (let i = 0; i < 145; i++) headers[`mcp-param-a${i}`] = String(i);
    assert.ok(headers['mcp-param-query']!.length > 20_000);
    const res = await fetch(`${mux.publicUrl}/raw/headers`, { method: 'POST', headers, body: '{}' });
    assert.equal(res.status, 200);
    const seen = (await res.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers['mcp-param-query'], headers['mcp-param-query']);
    assert.equal(seen.headers['mcp-param-a144'], '144');
  });

  it('answers 431 past the limits, itself', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 210; i++) many[`mcp-param-a${i}`] = String(i);
    assert.equal((await fetch(`${mux.publicUrl}/raw/headers`, { headers: many })).status, 431);
    const big = await fetch(`${mux.publicUrl}/raw/headers`, { headers: { 'mcp-param-x': 'a'.repeat(70_000) } }).catch((error: Error) => error);
    // Past Node's parser limit the connection may be closed with the 431, which fetch can report as a failure.
    assert.ok(big instanceof Error || big.status === 431, String(big instanceof Error ? big.message : big.status));
  });
});
