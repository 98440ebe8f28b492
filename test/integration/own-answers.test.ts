/**
 * mcpmux's own answers under the 2026-07-28 rules: each refusal has its status and a JSON-RPC
 * code outside the reserved range, so no client takes it for a server's modern error, and a client
 * that negotiates the revision never settles on the old protocol because mcpmux answered instead
 * of the server. Real clients of both SDKs in their negotiating modes: the TypeScript SDK 2.x
 * `Client` with `versionNegotiation: auto`, and the Python SDK 2.x `Client(url)`; behind mcpmux,
 * the Python SDK's MCPServer, which serves both revisions (a downgrade would succeed silently).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, SdkHttpError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { REFUSALS } from '../../src/answers.js';
import { fixtureServer, startMcpmux, stopAll, type LogRecord, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { makeTempDir, ROOT } from '../helpers/paths.js';
import { ensurePythonVenv } from '../helpers/python.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const TOKEN = 'a-token-of-at-least-sixteen-chars';
const MODERN = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' };

interface PyOutcome {
  protocol?: string;
  text?: string;
  error?: { code: number; message: string; data?: unknown };
  padded?: 'ok' | { code: number; message: string };
  after?: string;
  afterProtocol?: string;
}

describe("mcpmux's own answers under the 2026-07-28 rules", () => {
  let mux: Mcpmux;
  let python: string;
  const release = path.join(makeTempDir('mcpmux-hold-'), 'release');

  before(async () => {
    process.env.OWN_ANSWERS_TOKEN = TOKEN;
    const bin = ensurePythonVenv();
    python = path.join(bin, 'python');
    const dual = { command: python, args: [path.join(ROOT, 'test/fixtures/py_hold.py')], readinessProbe: { mcp: {}, periodSeconds: 0.2 }, maxInFlight: 1 };
    mux = await startMcpmux({
      listen: { allowedOrigins: ['https://app.example.com'], limits: { maxBodyBytes: 4096 } },
      servers: {
        dual,
        locked: { ...dual, maxInFlight: undefined, auth: { bearerTokens: [{ env: 'OWN_ANSWERS_TOKEN' }] } },
        stuck: fixtureServer('never-ready', { readinessProbe: { httpGet: { path: '/ready' }, periodSeconds: 0.1 } }),
      },
    });
    await waitFor(async () => (await mux.status()).servers.filter((s) => s.ready).length === 2, 'dual and locked to be ready', 30_000);
  });
  after(stopAll);

  /** The access-log records of requests to one server after `from`, as [MCP method, status]. */
  const requestsTo = (server: string, from: number) =>
    mux.logs.slice(from).filter((r: LogRecord) => r.msg === 'request' && r.server === server).map((r) => [r.mcpMethod ?? r.method, r.status]);

  const tsConnect = async (url: string) => {
    const client = new Client({ name: 'own-answers', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    return client;
  };

  const pyConnect = async (url: string, padding?: number): Promise<PyOutcome> => {
    const { stdout } = await run(python, [path.join(ROOT, 'test/fixtures/py_connect.py'), url, ...(padding ? [String(padding)] : [])], { timeout: 30_000 });
    return JSON.parse(stdout) as PyOutcome;
  };

  /** Holds dual's one slot (maxInFlight: 1) with a call that answers once `release` exists. */
  const holdSlot = async () => {
    rmSync(release, { force: true });
    rmSync(`${release}.held`, { force: true });
    // The last test's calls may still be finishing: the slot is taken only once it is free.
    await waitFor(async () => sampleValue(await scrape(mux.adminUrl), 'mcpmux_requests_in_flight', { server: 'dual' }) === 0, 'dual to have no request in flight');
    const holder = await tsConnect(`${mux.publicUrl}/dual/mcp`);
    const call = holder.callTool({ name: 'hold', arguments: { path: release } });
    await waitFor(() => existsSync(`${release}.held`), 'the hold call to be in flight');
    return async () => {
      writeFileSync(release, '');
      await call;
      await holder.close();
    };
  };

  it('answers every refusal with its status and a code outside the JSON-RPC reserved range', async () => {
    const cases: [string, RequestInit & { headers: Record<string, string> }, keyof typeof REFUSALS][] = [
      ['/nowhere/mcp', { method: 'POST', headers: MODERN, body: '{}' }, 'no_route'],
      ['/stuck/mcp', { method: 'POST', headers: MODERN, body: '{}' }, 'not_ready'],
      ['/locked/mcp', { method: 'POST', headers: MODERN, body: '{}' }, 'unauthorized'],
      ['/dual/mcp', { method: 'POST', headers: MODERN, body: 'x'.repeat(5000) }, 'body_too_large'],
      ['/dual/mcp', { method: 'POST', headers: { ...MODERN, origin: 'https://evil.example' }, body: '{}' }, 'forbidden'],
    ];
    for (const [url, init, reason] of cases) {
      const res = await fetch(`${mux.publicUrl}${url}`, init);
      const body = (await res.json()) as { jsonrpc: string; id: null; error: { code: number; message: string; data: { reason: string } } };
      assert.equal(res.status, REFUSALS[reason].status, `${reason}: status`);
      assert.equal(body.error.code, REFUSALS[reason].code, `${reason}: code`);
      assert.equal(body.error.data.reason, reason);
      assert.ok(body.error.code > -32000 || body.error.code < -32768, `${reason}: ${body.error.code} is outside -32768..-32000`);
      assert.equal(body.id, null);
    }
    const codes = Object.values(REFUSALS).map((r) => r.code);
    assert.equal(new Set(codes).size, codes.length, 'every refusal has its own code');
  });

  it('TypeScript SDK: a server that is not ready fails the connect with 503, and nothing falls back to initialize', async () => {
    const from = mux.logs.length;
    const error = await tsConnect(`${mux.publicUrl}/stuck/mcp`).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof SdkHttpError, `a typed HTTP error, got ${String(error)}`);
    assert.equal(error.data?.status, 503);
    await waitFor(() => requestsTo('stuck', from).length === 1, 'the access-log record');
    assert.deepEqual(requestsTo('stuck', from), [['server/discover', 503]], 'one probe, no initialize');
  });

  it('TypeScript SDK: a busy server fails the connect with 503; once it has room, the client negotiates 2026-07-28', async () => {
    const free = await holdSlot();
    const from = mux.logs.length;
    const error = await tsConnect(`${mux.publicUrl}/dual/mcp`).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof SdkHttpError && error.data?.status === 503, `503, got ${String(error)}`);
    const refused = () => requestsTo('dual', from).filter(([method]) => method !== 'tools/list' && method !== 'tools/call');
    await waitFor(() => refused().length > 0, 'the access-log record');
    await free();
    assert.deepEqual(refused(), [['server/discover', 503]], 'one probe, no initialize');
    const client = await tsConnect(`${mux.publicUrl}/dual/mcp`);
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    await client.close();
  });

  it('TypeScript SDK: a missing token is an authentication error, never a protocol verdict', async () => {
    const error = await tsConnect(`${mux.publicUrl}/locked/mcp`).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof SdkHttpError && error.data?.status === 401, `401, got ${String(error)}`);
  });

  it('Python SDK: a server that is not ready fails the connect with mcpmux’s own error; its fallback initialize gets the same', async () => {
    const from = mux.logs.length;
    const outcome = await pyConnect(`${mux.publicUrl}/stuck/mcp`);
    assert.deepEqual(outcome.error, { code: REFUSALS.not_ready.code, message: 'Server stuck is not ready (starting)', data: { reason: 'not_ready', server: 'stuck' } });
    // The Python client takes any error but -32022 as "an older server" and tries the handshake;
    // mcpmux refuses that too, so no session opens on the old protocol.
    await waitFor(() => requestsTo('stuck', from).length === 2, 'both records');
    assert.deepEqual(requestsTo('stuck', from), [['server/discover', 503], ['POST', 503]]);
  });

  it('Python SDK: a busy server fails the connect; once it has room, the client negotiates 2026-07-28', async () => {
    const free = await holdSlot();
    const busy = await pyConnect(`${mux.publicUrl}/dual/mcp`);
    assert.equal(busy.error?.code, REFUSALS.busy.code);
    await free();
    const outcome = await pyConnect(`${mux.publicUrl}/dual/mcp`);
    assert.deepEqual({ protocol: outcome.protocol, text: outcome.text }, { protocol: '2026-07-28', text: 'Echo: hi' });
  });

  it('Python SDK: a missing token fails the connect with 401 and mcpmux’s code', async () => {
    const from = mux.logs.length;
    const outcome = await pyConnect(`${mux.publicUrl}/locked/mcp`);
    assert.equal(outcome.error?.code, REFUSALS.unauthorized.code);
    await waitFor(() => requestsTo('locked', from).length === 2, 'both records');
    assert.deepEqual(requestsTo('locked', from), [['POST', 401], ['POST', 401]], 'its probe, then its fallback initialize; neither names a call before auth');
  });

  it('Python SDK: a call over the body limit gets 413 and mcpmux’s code; the session stays on 2026-07-28 and the next call works', async () => {
    const outcome = await pyConnect(`${mux.publicUrl}/dual/mcp`, 8000);
    assert.equal(outcome.protocol, '2026-07-28');
    assert.deepEqual(outcome.padded && typeof outcome.padded === 'object' ? outcome.padded.code : outcome.padded, REFUSALS.body_too_large.code);
    assert.deepEqual({ after: outcome.after, protocol: outcome.afterProtocol }, { after: 'Echo: again', protocol: '2026-07-28' });
  });

  it('counts and logs a refused 2026-07-28 call by its MCP method, with mcpmux’s code as its error type', async () => {
    const from = mux.logs.length;
    await fetch(`${mux.publicUrl}/stuck/mcp`, { method: 'POST', headers: { ...MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, body: '{}' });
    const record = await mux.waitForLog((r) => r.msg === 'request' && r.server === 'stuck' && mux.logs.indexOf(r) >= from, 'the record');
    assert.deepEqual([record.mcpMethod, record.mcpName, record.status, record.mcpError], ['tools/call', 'echo', 503, String(REFUSALS.not_ready.code)]);
    const text = await scrape(mux.adminUrl);
    assert.equal(sampleValue(text, 'mcpmux_mcp_requests_total', { server: 'stuck', method: 'tools/call', name: 'echo', code: '503', error_type: '-31007' }), 1);
  });
});
