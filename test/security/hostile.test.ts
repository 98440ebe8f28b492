/**
 * The hostile-request suite: raw TCP, one case per rule, each with its exact status; afterwards
 * the neighbour still serves and /healthz is still 200.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { ROOT } from '../helpers/paths.js';
import { rawExchange, statusOf } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'test-token-0123456789abcdef';

const exchange = (port: number, text: string, until = /\r\n\r\n[\s\S]*\}$/) => rawExchange(port, text, until);

describe('hostile requests', () => {
  let mux: Mcpmux;
  let port: number;
  before(async () => {
    process.env.MCPMUX_TEST_TOKEN = TOKEN;
    mux = await startMcpmux({
      listen: { host: '127.0.0.1', limits: { maxBodyBytes: 1024, maxHeaderBytes: 4096, maxHeaderCount: 30, headersTimeoutSeconds: 2, requestTimeoutSeconds: 4 } },
      auth: { bearerTokens: [{ env: 'MCPMUX_TEST_TOKEN' }], resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/raw/mcp' },
      servers: {
        raw: fixtureServer('raw-http', { maxInFlight: 2, upstreamTimeoutSeconds: 0.5 }),
        ws: fixtureServer('raw-http', { auth: 'none', allowUpgrade: true }),
        echo: { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT, auth: 'none' },
      },
    });
    await mux.waitReady();
    port = Number(new URL(mux.publicUrl).port);
  });
  after(async () => {
    // The neighbour still serves and mcpmux is healthy after everything above.
    const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'still here' } })), 'Echo: still here');
    await client.close();
    assert.equal((await fetch(`${mux.adminUrl}/healthz`)).status, 200);
    await stopAll();
  });

  const auth = `Authorization: Bearer ${TOKEN}\r\n`;
  const cases: [string, string, number][] = [
    ['Content-Length and Transfer-Encoding together', `POST /raw/headers HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
    ['two different Content-Lengths', `POST /raw/headers HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 400],
    ['an invalid chunked body', `POST /raw/headers HTTP/1.1\r\nHost: localhost\r\n${auth}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, 400],
    ['a ".." segment', `GET /raw/../echo/mcp HTTP/1.1\r\nHost: localhost\r\n${auth}\r\n`, 400],
    ['an encoded ".."', `GET /raw/%2E%2e/echo/mcp HTTP/1.1\r\nHost: localhost\r\n${auth}\r\n`, 400],
    ['an encoded "/"', `GET /raw%2F..%2Fecho/mcp HTTP/1.1\r\nHost: localhost\r\n${auth}\r\n`, 400],
    ['an encoded backslash', `GET /raw/..%5Cecho HTTP/1.1\r\nHost: localhost\r\n${auth}\r\n`, 400],
    ['an encoded NUL', `GET /raw/a%00b HTTP/1.1\r\nHost: localhost\r\n${auth}\r\n`, 400],
    ['an absolute-form target', `GET http://localhost/raw/headers HTTP/1.1\r\nHost: localhost\r\n${auth}\r\n`, 400],
    ['headers over the size limit', `GET /raw/headers HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`, 431],
    ['more headers than allowed', `GET /raw/headers HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 40 }, (_, i) => `X-H${i}: 1\r\n`).join('')}\r\n`, 431],
    ['a declared body over the limit', `POST /raw/headers HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Length: 2000\r\n\r\n${'a'.repeat(2000)}`, 413],
    ['a chunked body over the limit', `POST /raw/headers HTTP/1.1\r\nHost: localhost\r\n${auth}Transfer-Encoding: chunked\r\n\r\n800\r\n${'a'.repeat(2048)}\r\n0\r\n\r\n`, 413],
    ['no token', 'GET /raw/headers HTTP/1.1\r\nHost: localhost\r\n\r\n', 401],
    ['a wrong token', `GET /raw/headers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN.slice(0, -1)}x\r\n\r\n`, 401],
    ['another scheme', `GET /raw/headers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}\r\n\r\n`, 401],
    ['an Upgrade to a server that did not opt in', `GET /raw/headers HTTP/1.1\r\nHost: localhost\r\n${auth}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`, 400],
    ['a rebinding Host', `GET /echo/mcp HTTP/1.1\r\nHost: attacker.example\r\n\r\n`, 403],
    ['a foreign Origin', `GET /echo/mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: https://attacker.example\r\n\r\n`, 403],
    ['the admin /healthz on the public port', 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n', 404],
    ['a Host with junk for a port', `GET /echo/mcp HTTP/1.1\r\nHost: localhost:@evil.example\r\n\r\n`, 403],
    ['a Host with a path in it', `GET /echo/mcp HTTP/1.1\r\nHost: localhost:80/@evil.example#\r\n\r\n`, 403],
    ['a POST to the metadata path (only GET and HEAD reach it, without a token)', 'POST /.well-known/oauth-protected-resource/raw/mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n', 404],
    ['a declared body over the limit, behind Expect: 100-continue', `POST /raw/headers HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Length: 2000\r\nExpect: 100-continue\r\n\r\n`, 413],
    ['the admin /metrics on the public port', 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n', 404],
    ['two Host lines, the second one foreign', `GET /raw/headers HTTP/1.1\r\nHost: localhost\r\n${auth}Host: attacker.example\r\n\r\n`, 400],
  ];
  for (const [name, request, status] of cases) {
    it(`answers ${status} to ${name}`, async () => {
      assert.equal(statusOf(await exchange(port, request)), status);
    });
  }

  it('survives an Upgrade pipelined behind another request', async () => {
    const answer = await exchange(port, 'GET /nothing HTTP/1.1\r\nHost: localhost\r\n\r\nGET /echo/mcp HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', /400 Bad Request[\s\S]*\}$/);
    assert.equal(statusOf(answer), 404);
    assert.equal((await fetch(`${mux.adminUrl}/healthz`)).status, 200);
    assert.equal((await mux.status()).servers.every((s) => s.pid !== null), true, 'no child was killed');
  });

  it('never lets a header named in Connection unframe a body', async () => {
    const smuggled = `POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nHELLO`;
    const answer = await exchange(port, `GET /.well-known/oauth-protected-resource/ws/never-mind HTTP/1.1\r\nHost: localhost\r\nConnection: content-length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    assert.equal(statusOf(answer), 200);
    const seen = ((await (await fetch(`${mux.publicUrl}/ws/headers`)).json()) as { url: string }).url;
    assert.equal(seen, '/headers', 'the next request on the pooled connection is the real one');
  });

  it('keeps the upstream timeout for a request sent with Expect: 100-continue', async () => {
    const answer = await exchange(port, `POST /raw/never HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Length: 2\r\nExpect: 100-continue\r\n\r\n{}`);
    assert.match(answer, /HTTP\/1\.1 504 /);
  });

  it('drops spoofable client-address headers from an untrusted peer', async () => {
    const res = await fetch(`${mux.publicUrl}/ws/headers`, { headers: { 'x-real-ip': '6.6.6.6', 'x-forwarded-port': '1' } });
    const seen = ((await res.json()) as { headers: Record<string, string> }).headers;
    assert.equal(seen['x-real-ip'], undefined);
    assert.equal(seen['x-forwarded-port'], undefined);
  });

  it('says how to authenticate on a 401, and serves with the right token', async () => {
    const denied = await fetch(`${mux.publicUrl}/raw/headers`);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), 'Bearer realm="mcpmux", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/raw/mcp"');
    const ok = await fetch(`${mux.publicUrl}/raw/headers`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { headers: Record<string, string> }).headers.authorization, undefined, "mcpmux's token stays at the edge");
  });

  it('serves RFC 9728 metadata under the prefix, without a token, with the public resource URL', async () => {
    const res = await fetch(`${mux.publicUrl}/.well-known/oauth-protected-resource/raw/mcp`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { resource: `${mux.publicUrl}/raw/mcp`, authorization_servers: ['https://auth.example.com'] });
  });

  it('replaces X-Forwarded-* from a peer that is not a trusted proxy', async () => {
    const res = await fetch(`${mux.publicUrl}/ws/headers`, { headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example', forwarded: 'for=6.6.6.6' } });
    const seen = ((await res.json()) as { headers: Record<string, string> }).headers;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-host'], new URL(mux.publicUrl).host);
    assert.equal(seen.forwarded, undefined);
  });

  it('lets an Upgrade through to a server that opted in', async () => {
    const answer = await exchange(port, 'GET /ws/chat HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nping', /ping$/);
    assert.equal(statusOf(answer), 101);
    assert.match(answer, /ping$/);
  });

  it('answers 503 with Retry-After past a server\'s in-flight cap', async () => {
    const held = await Promise.all([1, 2].map(() => fetch(`${mux.publicUrl}/raw/hold`, { headers: { authorization: `Bearer ${TOKEN}` } })));
    const third = await fetch(`${mux.publicUrl}/raw/headers`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(third.status, 503);
    assert.equal(third.headers.get('retry-after'), '1');
    await Promise.all(held.map((r) => r.body?.cancel()));
    await waitFor(async () => (await fetch(`${mux.publicUrl}/raw/headers`, { headers: { authorization: `Bearer ${TOKEN}` } })).status === 200, 'room again');
  });

  it('answers 504 when a child does not answer in time, but never times out a stream', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const started = performance.now();
    const stalled = await fetch(`${mux.publicUrl}/raw/never`, { headers });
    assert.equal(stalled.status, 504);
    assert.ok(performance.now() - started < 3000);
    const stream = await fetch(`${mux.publicUrl}/raw/sse?n=6&ms=800`, { headers });
    assert.match(await stream.text(), /data: event 6/, 'a 4.8 s stream, 800 ms between events, outlives the 0.5 s upstream timeout and the 4 s request timeout');
  });
});
