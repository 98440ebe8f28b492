import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { filterResponseHeaders, prepareRequestHeaders } from '../../../src/proxy/headers.js';

describe('request headers', () => {
  it('removes hop-by-hop and Connection-named headers, keeps chunked framing, replaces X-Forwarded-*', () => {
    const req = {
      headers: {
        host: 'localhost:8080',
        connection: 'keep-alive, X-Secret',
        'x-secret': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        upgrade: 'websocket',
        'proxy-authorization': 'x',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-prefix': '/spoof',
        'mcp-session-id': 'abc',
        authorization: 'Bearer t',
      },
      socket: { remoteAddress: '127.0.0.1' },
    } as unknown as IncomingMessage;
    prepareRequestHeaders(req, '/math', { trusted: false, forwardAuthorization: true });
    assert.deepEqual(req.headers, {
      host: 'localhost:8080',
      'transfer-encoding': 'chunked',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'localhost:8080',
      'x-forwarded-prefix': '/math',
      'mcp-session-id': 'abc',
      authorization: 'Bearer t',
    });
  });
});

describe('response headers', () => {
  it('keeps case and repeats, drops hop-by-hop and Connection-named ones', () => {
    const raw = ['Content-Type', 'text/event-stream', 'Connection', 'X-Private', 'X-Private', 's', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Mcp-Session-Id', 'x'];
    assert.deepEqual(filterResponseHeaders(raw, 'X-Private'), ['Content-Type', 'text/event-stream', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Mcp-Session-Id', 'x']);
  });
});
