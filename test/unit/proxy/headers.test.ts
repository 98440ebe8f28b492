import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { buildRequestHeaders, filterResponseHeaders, toHeaderObject } from '../../../src/proxy/headers.js';

/** A request as Node's parser hands it over: raw pairs, and the parsed object with repeats joined. */
function inbound(raw: string[], remoteAddress = '127.0.0.1'): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    headers[name] = headers[name] === undefined ? raw[i + 1]! : `${headers[name]}, ${raw[i + 1]!}`;
  }
  return { rawHeaders: raw, headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

describe('request headers', () => {
  it('removes hop-by-hop and Connection-named headers, keeps chunked framing, replaces X-Forwarded-*, keeps order and case', () => {
    const req = inbound([
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

  it("appends to a trusted proxy's X-Forwarded-* and keeps its Forwarded", () => {
    const req = inbound(['Host', 'mcpmux:8080', 'X-Forwarded-For', '1.2.3.4', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'mcp.example.com', 'X-Forwarded-Prefix', '/edge/', 'Forwarded', 'for=1.2.3.4'], '10.0.0.9');
    assert.deepEqual(buildRequestHeaders(req, '/math', '127.0.0.1:4000', { trusted: true, forwardAuthorization: false }), [
      'Host', '127.0.0.1:4000',
      'Forwarded', 'for=1.2.3.4',
      'X-Forwarded-For', '1.2.3.4, 10.0.0.9',
      'X-Forwarded-Proto', 'https',
      'X-Forwarded-Host', 'mcp.example.com',
      'X-Forwarded-Prefix', '/edge/math',
    ]);
  });

  it('drops Authorization unless the server forwards it, and sends no empty X-Forwarded-Prefix at the root', () => {
    const req = inbound(['Host', 'localhost', 'Authorization', 'Bearer t', 'Cookie', 'a=1', 'Cookie', 'b=2']);
    assert.deepEqual(buildRequestHeaders(req, '/', '127.0.0.1:4000', { trusted: false, forwardAuthorization: false }), [
      'Host', '127.0.0.1:4000',
      'Cookie', 'a=1',
      'Cookie', 'b=2',
      'X-Forwarded-For', '127.0.0.1',
      'X-Forwarded-Proto', 'http',
      'X-Forwarded-Host', 'localhost',
    ]);
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
