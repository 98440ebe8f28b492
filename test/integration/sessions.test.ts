/** A stateful MCP server (sessions, event store) behind mcpmux, with the real SDK client. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';

const PROTOCOL = '2025-06-18';

describe('a stateful server with sessions', () => {
  let mux: Mcpmux;
  let url: string;
  before(async () => {
    mux = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { state: fixtureServer('stateful') } });
    await mux.waitReady();
    url = `${mux.publicUrl}/state/mcp`;
  });
  after(stopAll);

  it('round-trips Mcp-Session-Id and keeps each client in its own session', async () => {
    const a = await connectClient(url, 'a');
    const b = await connectClient(url, 'b');
    assert.match(a.transport.sessionId ?? '', /^[0-9a-f-]{36}$/);
    assert.match(b.transport.sessionId ?? '', /^[0-9a-f-]{36}$/);
    assert.notEqual(a.transport.sessionId, b.transport.sessionId);
    assert.equal(textOf(await a.client.callTool({ name: 'progress', arguments: { count: 1, intervalMs: 1 } })), 'sent 1');
    assert.equal(textOf(await b.client.callTool({ name: 'progress', arguments: { count: 2, intervalMs: 1 } })), 'sent 2');
    await a.client.close();
    await b.client.close();
  });

  it('keeps the GET SSE stream open and delivers server notifications on it', async () => {
    const inFlight = async () => sampleValue(await scrape(mux.adminUrl), 'mcpmux_requests_in_flight', { server: 'state' }) ?? 0;
    await waitFor(async () => (await inFlight()) === 0, 'the streams of earlier clients to be closed');
    const { client } = await connectClient(url);
    const received: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void received.push(n.params.data));
    // The client opens its GET stream on its own after connecting; a message sent before it is
    // open has nowhere to go, so the broadcast waits for the stream to be in flight at mcpmux.
    await waitFor(async () => (await inFlight()) >= 1, 'the GET stream to be open');
    await client.callTool({ name: 'broadcast', arguments: { message: 'one' } });
    await waitFor(() => received.includes('one'), 'the first notification on the GET stream');
    await client.callTool({ name: 'broadcast', arguments: { message: 'two' } });
    await waitFor(() => received.includes('two'), 'the second notification on the same stream');
    await client.close();
  });

  it('streams 20 progress notifications spread over time, as they are when connected directly', async () => {
    const direct = `http://127.0.0.1:${(await mux.status()).servers[0]!.port}/mcp`;
    const spreads: number[] = [];
    for (const target of [direct, url]) {
      const { client } = await connectClient(target);
      const arrivals: number[] = [];
      const result = await client.callTool({ name: 'progress', arguments: { count: 20, intervalMs: 50 } }, undefined, {
        onprogress: () => void arrivals.push(performance.now()),
      });
      assert.equal(textOf(result), 'sent 20');
      assert.equal(arrivals.length, 20);
      spreads.push(arrivals[19]! - arrivals[0]!);
      await client.close();
    }
    const [directSpread, muxSpread] = spreads as [number, number];
    // 19 gaps of 50 ms: a buffering proxy would deliver all 20 at once, a spread near 0.
    assert.ok(muxSpread >= 19 * 50 * 0.8, `through mcpmux the events spread over ${muxSpread.toFixed(0)} ms`);
    assert.ok(directSpread >= 19 * 50 * 0.8, `directly the events spread over ${directSpread.toFixed(0)} ms`);
  });

  it('closes the child connection when the client aborts a streamed call', async () => {
    const { client, transport } = await connectClient(url);
    const controller = new AbortController();
    const res = await fetch(url, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': PROTOCOL },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'progress', arguments: { count: 1000, intervalMs: 20 }, _meta: { progressToken: 'p' } } }),
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /notifications\/progress/);
    controller.abort();
    await mux.waitForLog((r) => r.server === 'state' && r.msg === 'client closed POST /mcp before the response finished', 'the child to see the connection closed', 5000);
    await client.close();
  });

  it('ends the session on DELETE: the old session id then gets 404', async () => {
    const { client, transport } = await connectClient(url);
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    assert.equal(res.status, 404);
    await client.close();
  });

  it('resumes a stream with Last-Event-ID: the child replays what came after it', async () => {
    const { client, transport } = await connectClient(url);
    const headers = { 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': PROTOCOL };
    const call = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'progress', arguments: { count: 3, intervalMs: 5 }, _meta: { progressToken: 't' } } }),
    });
    const ids = [...(await call.text()).matchAll(/^id: (.+)$/gm)].map((m) => m[1]!);
    assert.ok(ids.length >= 4, `expected ids for 3 progress events and the result, got ${ids.length}`);
    const resumed = await fetch(url, { method: 'GET', headers: { ...headers, accept: 'text/event-stream', 'last-event-id': ids[0]! } });
    assert.equal(resumed.status, 200);
    const reader = resumed.body!.getReader();
    let replay = '';
    await waitFor(async () => {
      const { value, done } = await reader.read();
      replay += new TextDecoder().decode(value ?? new Uint8Array());
      return done || replay.includes('"id":7');
    }, 'the replayed result');
    await reader.cancel();
    assert.ok(replay.includes(`id: ${ids.at(-1)}`), 'the last event is replayed with its own id');
    assert.ok(!replay.includes(`id: ${ids[0]}\n`), 'the event named in Last-Event-ID is not sent again');
    await client.close();
  });
});
