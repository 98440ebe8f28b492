/**
 * The engine against children that misbehave on the wire, over real loopback sockets: each case
 * is one of the hostile review's findings.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { sendUpstreamError } from '../../../src/proxy/errors.js';
import { createForwarder, type ForwarderHooks } from '../../../src/proxy/forward.js';
import { sendRefusal } from '../../../src/answers.js';

const closers: (() => void)[] = [];
after(() => closers.forEach((close) => close()));

/** A child that answers each request's first bytes with `answer(socket)`, and a proxy in front of it. */
async function proxyTo(answer: (socket: net.Socket) => void, upstreamTimeoutSeconds?: number, onAnswer: ForwarderHooks['onAnswer'] = () => 'relay'): Promise<number> {
  const child = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => answer(socket));
  });
  await new Promise<void>((resolve) => child.listen(0, '127.0.0.1', resolve));
  const forwarder = createForwarder((child.address() as net.AddressInfo).port, { onUpstreamError: (error, _req, res) => res && sendUpstreamError(res, 'child', error.kind), onAnswer }, upstreamTimeoutSeconds);
  const proxy = http.createServer((req, res) => {
    const headers = ['Host', 'child'];
    if (req.headers['content-length']) headers.push('Content-Length', req.headers['content-length']);
    forwarder.forward(req, res, headers);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    forwarder.close();
    proxy.closeAllConnections();
    proxy.close();
    child.close();
  });
  return (proxy.address() as net.AddressInfo).port;
}

/** What a client reads for one request, until the proxy closes the connection or `timeoutMs` passes. */
function exchange(port: number, head: string, bodyBytes = 0, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (answer += `[${error.code}]`));
    socket.on('close', () => resolve(answer));
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.write(head);
    let left = bodyBytes;
    const pump = () => {
      while (left > 0 && socket.writable) {
        const size = Math.min(left, 65536);
        left -= size;
        if (!socket.write(Buffer.alloc(size))) return void socket.once('drain', pump);
      }
    };
    pump();
  });
}

describe('the engine, against children that misbehave', () => {
  it('passes on an early answer whole when the child resets the upload after it', async () => {
    const port = await proxyTo((socket) => {
      socket.write('HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope!');
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    const answer = await exchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\nConnection: close\r\n\r\n', 3_000_000);
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.match(answer, /\r\n\r\nnope!/);
  });

  it('never leaves a bare reset when the reset follows an early answer within a few ms: the whole answer, or a 502', async () => {
    for (const [body, delayMs] of [['nope!', 0], ['', 0], ['', 1], ['', 5]] as const) {
      const port = await proxyTo((socket) => {
        socket.write(`HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        if (delayMs === 0) socket.resetAndDestroy();
        else setTimeout(() => socket.resetAndDestroy(), delayMs);
      });
      // The answer races the reset, which may discard it before it is read: either is right, a bare reset never is.
      for (let i = 0; i < 10; i++) {
        const answer = await exchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\nConnection: close\r\n\r\n', 3_000_000);
        const whole431 = new RegExp(`^HTTP/1\\.1 431 [^]*\r\n\r\n${body}$`).test(answer);
        assert.ok(whole431 || /^HTTP\/1\.1 502 /.test(answer), `${delayMs} ms, try ${i}: ${JSON.stringify(answer.slice(0, 80))}`);
      }
    }
  });

  it('answers 502, not a bare reset, when the first chunk of a body is malformed', async () => {
    const port = await proxyTo((socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n'));
    for (let i = 0; i < 5; i++) {
      const answer = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(answer, /^HTTP\/1\.1 502 /, `try ${i}: ${JSON.stringify(answer.slice(0, 60))}`);
    }
  });

  it('cuts the stream, as before, when a body breaks off after bytes reached the client', async () => {
    const port = await proxyTo((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part');
      setTimeout(() => socket.destroy(), 50);
    });
    const answer = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200 [^]*first part/);
    assert.doesNotMatch(answer, /502/);
  });

  it('sends a GET again on a fresh connection when the pooled one was closed by the child without a word, and never a POST', async () => {
    // Answers the first request on each connection; a second one on the same connection gets a reset.
    const port = await proxyTo((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      socket.once('data', () => socket.resetAndDestroy());
    });
    for (let i = 0; i < 5; i++) {
      const answer = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(answer, /^HTTP\/1\.1 200 /, `GET ${i}: ${JSON.stringify(answer.slice(0, 40))}`);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const answer = await exchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n', 2);
      statuses.push(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]));
    }
    assert.ok(statuses.includes(502), `a POST is never sent twice: ${statuses.join(', ')}`);
  });

  it("sends the hook's own answer instead of the child's when onAnswer replaces it, and closes the child's stream", async () => {
    let childClosed: Promise<void> | undefined;
    const port = await proxyTo(
      (socket) => {
        childClosed = new Promise((resolve) => socket.once('close', () => resolve()));
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nMcp-Session-Id: s1\r\n\r\n');
        const timer = setInterval(() => socket.writable && socket.write('data: {}\n\n'), 10);
        socket.once('close', () => clearInterval(timer));
      },
      undefined,
      (_req, answer, res) => {
        if (answer.headers['mcp-session-id'] === undefined) return 'relay';
        sendRefusal(res, 'sessions_full', 'no room');
        return 'replaced';
      },
    );
    const answer = await exchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}', 0);
    assert.match(answer, /^HTTP\/1\.1 503 [^]*retry-after: 1[^]*"sessions_full"/i);
    assert.doesNotMatch(answer, /mcp-session-id|data: /i, "nothing of the child's answer reaches the client");
    await childClosed;
  });

  it('answers 504 when a child sends only 102 Processing past upstreamTimeoutSeconds', async () => {
    let timer: NodeJS.Timeout | undefined;
    const port = await proxyTo((socket) => {
      timer = setInterval(() => socket.writable && socket.write('HTTP/1.1 102 Processing\r\n\r\n'), 10);
      socket.on('close', () => clearInterval(timer));
    }, 0.3);
    const started = performance.now();
    const answer = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    clearInterval(timer);
    assert.match(answer, /^HTTP\/1\.1 504 /);
    const tookMs = performance.now() - started;
    assert.ok(tookMs >= 250 && tookMs < 3000, `answered after ${tookMs.toFixed(0)} ms`);
  });
});
