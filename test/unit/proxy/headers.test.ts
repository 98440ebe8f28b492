import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { buildPeerHeaders, buildRequestHeaders, filterResponseHeaders, toHeaderObject } from '../../../src/proxy/headers.js';

/**
 * A request as Node's parser hands it over (raw pairs, and the parsed object in which some
 * repeats are dropped and Cookie is joined with "; "), from a real parse of these header lines.
 */
async function inbound(raw: string[], remoteAddress = '127.0.0.1', method = 'GET'): Promise<IncomingMessage> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const seen = new Promise<IncomingMessage>((resolve) => server.once('request', (req: IncomingMessage, res: http.ServerResponse) => {
    res.end();
    resolve(req);
  }));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const lines = [];
  for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  socket.end(`${method} / HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  const req = await seen;
  socket.destroy();
  server.close();
  // The peer address as a proxy in front would show it.
  return Object.assign(Object.create(req) as IncomingMessage, { socket: { remoteAddress } });
}

describe('request headers', () => {
  it('removes hop-by-hop and Connection-named headers, keeps chunked framing, replaces X-Forwarded-*, keeps order and case', async () => {
    const req = await inbound([
      'Host', 'localhost:8080',
      'Connection', 'keep-alive, X-Secret, Content-Length',
      'X-Secret', '1',
      'Keep-Alive', 'timeout=5',
      'Transfer-Encoding', 'chunked',
      'TE', 'trailers',
      'Upgrade', 'websocket',
      'Proxy-Authorization', 'x',
      'Expect', '100-continue',
      'X-Forwarded-For', '6.6.6.6',
      'X-Forwarded-Prefix', '/spoof',
      'Forwarded', 'for=6.6.6.6',
      'X-Real-IP', '6.6.6.6',
      'Mcp-Session-Id', 'abc',
      'Authorization', 'Bearer t',
    ]);
    assert.deepEqual(buildRequestHeaders(req, '/math', '127.0.0.1:4000', { trusted: false, forwardAuthorization: true }), [
      'Host', '127.0.0.1:4000',
      'Mcp-Session-Id', 'abc',
      'Authorization', 'Bearer t',
      'Transfer-Encoding', 'chunked',
      'X-Forwarded-For', '127.0.0.1',
      'X-Forwarded-Proto', 'http',
      'X-Forwarded-Host', 'localhost:8080',
      'X-Forwarded-Prefix', '/math',
    ]);
  });

  it("sends an Origin on as the child's own loopback origin, and none where the client sent none", async () => {
    const fromBrowser = await inbound(['Host', 'mcp.example.com', 'Origin', 'https://app.example.com', 'Accept', '*/*']);
    assert.deepEqual(buildRequestHeaders(fromBrowser, '/math', '127.0.0.1:4000', { trusted: false, forwardAuthorization: false }).slice(0, 6), [
      'Host', '127.0.0.1:4000',
      'Origin', 'http://127.0.0.1:4000',
      'Accept', '*/*',
    ]);
    const fromScript = await inbound(['Host', 'mcp.example.com', 'Accept', '*/*']);
    assert.ok(!buildRequestHeaders(fromScript, '/math', '127.0.0.1:4000', { trusted: false, forwardAuthorization: false }).some((h) => h.toLowerCase() === 'origin'));
  });

  it("appends to a trusted proxy's X-Forwarded-* and keeps its Forwarded", async () => {
    const req = await inbound(['Host', 'mcpmux:8080', 'X-Forwarded-For', '1.2.3.4', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'mcp.example.com', 'X-Forwarded-Prefix', '/edge/', 'Forwarded', 'for=1.2.3.4'], '10.0.0.9');
    assert.deepEqual(buildRequestHeaders(req, '/math', '127.0.0.1:4000', { trusted: true, forwardAuthorization: false }), [
      'Host', '127.0.0.1:4000',
      'Forwarded', 'for=1.2.3.4',
      'X-Forwarded-For', '1.2.3.4, 10.0.0.9',
      'X-Forwarded-Proto', 'https',
      'X-Forwarded-Host', 'mcp.example.com',
      'X-Forwarded-Prefix', '/edge/math',
    ]);
  });

  it('drops Authorization unless the server forwards it, and sends no empty X-Forwarded-Prefix at the root', async () => {
    const req = await inbound(['Host', 'localhost', 'Authorization', 'Bearer t', 'Cookie', 'a=1', 'Cookie', 'b=2']);
    assert.deepEqual(buildRequestHeaders(req, '/', '127.0.0.1:4000', { trusted: false, forwardAuthorization: false }), [
      'Host', '127.0.0.1:4000',
      'Cookie', 'a=1; b=2',
      'X-Forwarded-For', '127.0.0.1',
      'X-Forwarded-Proto', 'http',
      'X-Forwarded-Host', 'localhost',
    ]);
  });

  it('sends a header Node reads once only once, with the value mcpmux checked; joins Cookie lines with "; "', async () => {
    const req = await inbound(['Host', 'localhost', 'Authorization', 'Bearer good', 'Cookie', 'a=1', 'Authorization', 'Bearer forged', 'Content-Type', 'application/json', 'Cookie', 'b=2', 'Content-Type', 'text/plain', 'Accept', 'a', 'Accept', 'b']);
    assert.deepEqual(buildRequestHeaders(req, '/', '127.0.0.1:4000', { trusted: false, forwardAuthorization: true }).slice(0, 12), [
      'Host', '127.0.0.1:4000',
      'Authorization', 'Bearer good',
      'Cookie', 'a=1; b=2',
      'Content-Type', 'application/json',
      'Accept', 'a',
      'Accept', 'b',
    ]);
  });

  it('says Content-Length: 0 for a bodiless POST, and nothing for a GET', async () => {
    const post = buildRequestHeaders(await inbound(['Host', 'localhost'], '127.0.0.1', 'POST'), '/', 'c', { trusted: false, forwardAuthorization: false });
    assert.deepEqual(post.slice(2, 4), ['Content-Length', '0']);
    const get = buildRequestHeaders(await inbound(['Host', 'localhost']), '/', 'c', { trusted: false, forwardAuthorization: false });
    assert.ok(!get.includes('Content-Length'));
  });

  it('leaves out what the caller sets itself: names it omits, and the framing of a body it read whole', async () => {
    const req = await inbound(['Host', 'localhost', 'traceparent', '00-x', 'TraceState', 'a=1', 'Baggage', 'k=v', 'Content-Length', '12'], '127.0.0.1', 'POST');
    const built = buildRequestHeaders(req, '/', 'c', { trusted: false, forwardAuthorization: false, omit: new Set(['traceparent', 'tracestate']), bodyRead: true });
    const names = built.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
    assert.ok(names.includes('baggage'));
    for (const gone of ['traceparent', 'tracestate', 'content-length', 'transfer-encoding']) assert.ok(!names.includes(gone), `${gone}: ${names}`);
  });

  it("drops a client's Mcpmux-Client always, and sends mcpmux's own only when told who the client is", async () => {
    const req = await inbound(['Host', 'localhost', 'Mcpmux-Client', '6.6.6.6', 'mcpmux-client', 'spoof']);
    const plain = buildRequestHeaders(req, '/', 'c', { trusted: true, forwardAuthorization: false });
    assert.ok(!plain.some((h) => h.toLowerCase() === 'mcpmux-client'), JSON.stringify(plain));
    const told = buildRequestHeaders(req, '/', 'c', { trusted: false, forwardAuthorization: false, client: '127.0.0.5' });
    assert.deepEqual(told.filter((_, i) => i % 2 === 0 && told[i]!.toLowerCase() === 'mcpmux-client').length, 1);
    assert.deepEqual(told.slice(-2), ['Mcpmux-Client', '127.0.0.5']);
  });

  it("drops a client's Mcpmux-Peer mark before the child, always", async () => {
    const req = await inbound(['Host', 'localhost', 'Mcpmux-Peer', '1.abc', 'Mcp-Session-Id', 's']);
    const out = buildRequestHeaders(req, '/', 'c', { trusted: true, forwardAuthorization: false });
    assert.ok(!out.some((h) => h.toLowerCase() === 'mcpmux-peer'), JSON.stringify(out));
    assert.ok(out.includes('Mcp-Session-Id'));
  });

  it("relays to an owner pod what the client sent (Host, Origin, Authorization, the session), less this hop's own, with the mark last", async () => {
    const req = await inbound([
      'Host', 'mcp.example.com', 'Origin', 'https://app.example.com', 'Authorization', 'Bearer t', 'Mcp-Session-Id', 'm1_x', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1',
      'Keep-Alive', 'timeout=5', 'Mcpmux-Peer', 'forged', 'Mcpmux-Client', '6.6.6.6', 'X-Forwarded-For', '6.6.6.6', 'X-Forwarded-Prefix', '/evil', 'X-Real-IP', '6.6.6.6',
    ], '10.0.0.9', 'DELETE');
    const out = buildPeerHeaders(req, '123.mark', false);
    assert.deepEqual(out, [
      'Host', 'mcp.example.com', 'Origin', 'https://app.example.com', 'Authorization', 'Bearer t', 'Mcp-Session-Id', 'm1_x',
      'X-Forwarded-For', '10.0.0.9', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', 'mcp.example.com', 'Mcpmux-Peer', '123.mark',
    ]);
  });

  it("appends to a trusted proxy's X-Forwarded-* on the way to an owner pod", async () => {
    const req = await inbound(['Host', 'h', 'X-Forwarded-For', '1.2.3.4', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'mcp.example.com', 'X-Forwarded-Prefix', '/api'], '10.0.0.1');
    const out = buildPeerHeaders(req, 'm', true);
    assert.deepEqual(out.slice(-10), ['X-Forwarded-Prefix', '/api', 'X-Forwarded-For', '1.2.3.4, 10.0.0.1', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'mcp.example.com', 'Mcpmux-Peer', 'm']);
  });

  it('turns a raw list into an object for the Upgrade engine, repeats joined', () => {
    assert.deepEqual(toHeaderObject(['Host', 'h', 'X-A', '1', 'x-a', '2']), { host: 'h', 'x-a': '1, 2' });
  });
});

describe('response headers', () => {
  it('keeps case and repeats, drops hop-by-hop and Connection-named ones', () => {
    const raw = ['Content-Type', 'text/event-stream', 'Connection', 'X-Private', 'X-Private', 's', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Mcp-Session-Id', 'x'];
    assert.deepEqual(filterResponseHeaders(raw, 'X-Private'), ['Content-Type', 'text/event-stream', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Mcp-Session-Id', 'x']);
  });
});
