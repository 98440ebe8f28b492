/** What passes through the proxy, and what does not: headers, streams, aborts, upstream failures. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { rawExchange } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

/** The body of a raw HTTP/1.1 answer, chunked encoding undone. */
function bodyOf(raw: string): string {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  let rest = raw.slice(head.length + 4);
  if (!/transfer-encoding: chunked/i.test(head)) return rest;
  let body = '';
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return body;
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

describe('the proxy', () => {
  let mux: Mcpmux;
  let port: number;
  let childPort: number;
  before(async () => {
    mux = await startMcpmux({
      listen: { host: '127.0.0.1' },
      servers: {
        raw: fixtureServer('raw-http', { prefix: '/raw', forwardAuthorization: true }),
        other: fixtureServer('raw-http', { prefix: '/raw/deeper' }),
        order: fixtureServer('order-log'),
      },
    });
    await mux.waitReady();
    port = Number(new URL(mux.publicUrl).port);
    childPort = (await mux.status()).servers.find((s) => s.name === 'raw')!.port!;
  });
  after(stopAll);

  it('strips the prefix, keeps the query, and rewrites Host to the child', async () => {
    const res = await request(`${mux.publicUrl}/raw/headers?x=1&y=%20`, { headers: { host: `localhost:${port}` } });
    const seen = (await res.body.json()) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/headers?x=1&y=%20');
    const raw = await rawExchange(port, "GET /raw/headers?q='a'&z=/../&e= HTTP/1.1\r\nHost: localhost\r\n\r\n", /\r\n0\r\n\r\n$/);
    assert.equal((JSON.parse(bodyOf(raw)) as { url: string }).url, "/headers?q='a'&z=/../&e=", 'the query goes out byte for byte');
    assert.equal(seen.headers.host, `127.0.0.1:${childPort}`);
    assert.equal(seen.headers['x-forwarded-host'], `localhost:${port}`);
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-prefix'], '/raw');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  });

  it('closes pooled connections to a child once idle for 3 to 4 s, before a child without a Keep-Alive hint would', async () => {
    const own = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { raw: fixtureServer('raw-http', { prefix: '/raw' }) } });
    await own.waitReady();
    const direct = `http://127.0.0.1:${(await own.status()).servers[0]!.port}/connections`;
    // Counted by the child while it answers this direct request, which is one of them.
    const pooled = async () => ((await (await fetch(direct, { headers: { connection: 'close' } })).json()) as { open: number }).open - 1;
    await Promise.all([1, 2, 3].map(() => fetch(`${own.publicUrl}/raw/headers`).then((res) => res.text())));
    const used = performance.now();
    assert.ok((await pooled()) >= 1, 'a connection stays pooled after its request');
    await waitFor(async () => (await pooled()) === 0, 'the pooled connections to close', 8000, 100);
    const idleMs = performance.now() - used;
    assert.ok(idleMs >= 2500, `closed after ${idleMs.toFixed(0)} ms idle, not at once`);
    await own.stop();
  });

  it('serves the next request on a connection whose upload the child answered without reading', async () => {
    const size = 3_000_000;
    const answers = await new Promise<string>((resolve, reject) => {
      const chunk = Buffer.alloc(64 * 1024, 97);
      let sent = 0;
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`POST /raw/early HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${size}\r\n\r\n`);
        const pump = () => {
          while (sent < size) {
            const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
            sent += piece.length;
            if (!socket.write(piece)) return void socket.once('drain', pump);
          }
          socket.write('GET /raw/headers HTTP/1.1\r\nHost: localhost\r\n\r\n');
        };
        // The rest of the upload goes once the child's early answer is in.
        sent = chunk.length;
        socket.write(chunk);
        socket.once('data', pump);
      });
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (text: string) => {
        data += text;
        if (/"rawHeaders"/.test(data)) {
          socket.destroy();
          resolve(data);
        }
      });
      socket.on('error', reject);
      socket.setTimeout(8000, () => {
        socket.destroy();
        resolve(data);
      });
    });
    assert.match(answers, /^HTTP\/1\.1 200 OK[\s\S]*early/);
    assert.match(answers, /"url":"\/headers"/, `the GET behind the upload was answered: ${answers.slice(0, 300)}`);
  });

  it('sends the child one Authorization, the one a client sent first, and says Content-Length: 0 for a bodiless POST', async () => {
    const raw = await rawExchange(port, 'POST /raw/headers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer first\r\nAuthorization: Bearer second\r\nConnection: close\r\n\r\n');
    const seen = JSON.parse(bodyOf(raw)) as { rawHeaders: string[] };
    const named = (name: string) => seen.rawHeaders.filter((_, i) => i % 2 === 1 && seen.rawHeaders[i - 1]!.toLowerCase() === name);
    assert.deepEqual(named('authorization'), ['Bearer first']);
    assert.deepEqual(named('content-length'), ['0']);
    assert.deepEqual(named('transfer-encoding'), []);
  });

  it('routes to the longest matching prefix on whole segments', async () => {
    const deeper = (await (await fetch(`${mux.publicUrl}/raw/deeper/headers`)).json()) as { url: string; headers: Record<string, string> };
    assert.equal(deeper.headers['x-forwarded-prefix'], '/raw/deeper');
    assert.equal(deeper.url, '/headers');
    const res = await fetch(`${mux.publicUrl}/rawx/headers`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { jsonrpc: '2.0', error: { code: -31001, message: 'No MCP server is mounted at this path', data: { reason: 'no_route' } }, id: null });
  });

  it('passes end-to-end headers untouched and removes hop-by-hop ones, both ways', async () => {
    const inbound = await rawExchange(
      port,
      'GET /raw/headers HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\nKeep-Alive: timeout=9\r\nTE: trailers\r\n' +
        'Proxy-Authorization: Basic abc\r\nMcp-Session-Id: s-1\r\nMCP-Protocol-Version: 2025-06-18\r\nLast-Event-ID: 42\r\nAuthorization: Bearer t\r\nX-Custom: yes\r\n\r\n',
      /\r\n0\r\n\r\n$/,
    );
    const seen = JSON.parse(bodyOf(inbound)) as { headers: Record<string, string> };
    for (const gone of ['x-drop-me', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(seen.headers[gone], undefined, gone);
    assert.notEqual(seen.headers.connection, 'keep-alive, X-Drop-Me');
    assert.equal(seen.headers['mcp-session-id'], 's-1');
    assert.equal(seen.headers['mcp-protocol-version'], '2025-06-18');
    assert.equal(seen.headers['last-event-id'], '42');
    assert.equal(seen.headers.authorization, 'Bearer t');
    assert.equal(seen.headers['x-custom'], 'yes');

    const res = await request(`${mux.publicUrl}/raw/hop`);
    assert.equal(await res.body.text(), 'hop');
    assert.equal(res.headers['x-private'], undefined, 'a header named in Connection is removed');
    assert.equal(res.headers['keep-alive'] === 'timeout=5', false, "the child's Keep-Alive is not forwarded");
    assert.equal(res.headers['mcp-session-id'], 'abc');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
  });

  it("keeps the client's Authorization from a child unless the server says to forward it", async () => {
    const res = await fetch(`${mux.publicUrl}/raw/deeper/headers`, { headers: { authorization: 'Bearer secret-for-mcpmux' } });
    const seen = (await res.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers.authorization, undefined);
  });

  it('keeps pooled connections healthy after a request sent with Connection: close', async () => {
    const first = await rawExchange(port, 'GET /raw/sse?n=2&ms=5 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.match(first, /^HTTP\/1\.1 200/);
    assert.match(first, /data: event 2/);
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await fetch(`${mux.publicUrl}/raw/headers`)).status));
    assert.deepEqual(statuses, Array(20).fill(200));
    const seen = (await (await fetch(`${mux.publicUrl}/raw/headers`, { headers: { connection: 'close' } })).json()) as { headers: Record<string, string> };
    assert.notEqual(seen.headers.connection, 'close', 'Connection: close never reaches the pooled upstream socket');
  });

  it('reuses keep-alive connections to the child', async () => {
    const peers = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const seen = (await (await fetch(`${mux.publicUrl}/raw/headers`)).json()) as { remotePort: number };
      peers.add(seen.remotePort);
    }
    assert.equal(peers.size, 1, 'five requests in a row share one upstream connection');
  });

  it('forwards requests in the order they arrive, even across connections', async () => {
    const open = () => new Promise<net.Socket>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    });
    const [a, b] = await Promise.all([open(), open()]);
    const answered = (socket: net.Socket) =>
      new Promise<void>((resolve) => {
        let data = '';
        const onData = (chunk: Buffer) => {
          data += chunk.toString();
          if (data.endsWith('ok')) {
            socket.off('data', onData);
            resolve();
          }
        };
        socket.on('data', onData);
      });
    const body = '{"jsonrpc":"2.0","id":1,"method":"tools/call"}';
    let swapped = 0;
    for (let i = 0; i < 50; i++) {
      const done = Promise.all([answered(a), answered(b)]);
      // A GET stream request, then at once a POST with a body: the order an MCP client uses.
      a.write('GET /order/mcp HTTP/1.1\r\nHost: localhost\r\n\r\n');
      b.write(`POST /order/mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      await done;
      const log = (await (await fetch(`${mux.publicUrl}/order/log`)).json()) as string[];
      if (log[0] !== 'GET /mcp') swapped += 1;
    }
    a.destroy();
    b.destroy();
    assert.equal(swapped, 0, `the child saw the POST first ${swapped} times out of 50`);
  });

  it('streams SSE event by event, as the child sends them', async () => {
    const res = await fetch(`${mux.publicUrl}/raw/sse?n=5&ms=200`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('content-encoding'), null);
    const reader = res.body!.getReader();
    const arrivals: number[] = [];
    const started = Date.now();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const chunk = new TextDecoder().decode(value);
      text += chunk;
      for (const _ of chunk.matchAll(/data: /g)) arrivals.push(Date.now() - started);
    }
    assert.equal(arrivals.length, 5);
    assert.match(text, /data: event 5/);
    // The child spreads 5 events over ~1 s; a buffering proxy would deliver them all at once.
    assert.ok(arrivals[4]! - arrivals[0]! >= 600, `events arrived at ${arrivals.join(', ')} ms`);
  });

  it("sends a quick SSE answer's head, event and end in one write, and a slow stream's head before its first event", async () => {
    // What a raw client reads, read by read, with when each came.
    const reads = (path: string) => new Promise<{ at: number; text: string }[]>((resolve, reject) => {
      const got: { at: number; text: string }[] = [];
      const started = performance.now();
      const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
      socket.setEncoding('utf8');
      socket.on('data', (text: string) => {
        got.push({ at: performance.now() - started, text });
        if (got.map((r) => r.text).join('').endsWith('0\r\n\r\n')) socket.destroy();
      });
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
    // The child writes its head at once and its one event 1 ms later, then ends: mcpmux holds the head for the event,
    // so the head never reaches the client alone within the 5 ms hold (on a loaded machine an event may come after it).
    // Without the hold, the head came alone within a millisecond.
    const alone: string[] = [];
    for (let i = 0; i < 8; i++) {
      const quick = await reads('/raw/sse?n=1&ms=1');
      assert.match(quick.map((r) => r.text).join(''), /^HTTP\/1\.1 200[\s\S]*data: event 1\n\n\r\n0\r\n\r\n$/);
      if (!quick[0]!.text.includes('data: ') && quick[0]!.at < 4) alone.push(`answer ${i}: the head alone after ${quick[0]!.at.toFixed(2)} ms`);
    }
    assert.deepEqual(alone, []);
    // An event 400 ms away: the head does not wait for it.
    const slow = await reads('/raw/sse?n=1&ms=400');
    assert.match(slow[0]!.text, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(slow[0]!.text, /data: /);
    assert.ok(slow[0]!.at < 200, `the head came after ${slow[0]!.at.toFixed(0)} ms`);
    const event = slow.find((r) => r.text.includes('data: event 1'))!;
    assert.ok(event.at >= 350, `the event came after ${event.at.toFixed(0)} ms`);
  });

  it('closes the child connection when the client aborts a stream', async () => {
    const controller = new AbortController();
    const res = await fetch(`${mux.publicUrl}/raw/hold`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await mux.waitForLog((r) => r.server === 'raw' && r.stream === 'stderr' && r.msg === 'client closed /hold', 'the child to see its client gone', 5000);
  });

  it('counts pipelined requests out when their client goes away', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /raw/hold HTTP/1.1\r\nHost: localhost\r\n\r\nGET /raw/headers HTTP/1.1\r\nHost: localhost\r\n\r\nGET /raw/headers HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    const inFlight = async () => sampleValue(await scrape(mux.adminUrl), 'mcpmux_requests_in_flight', { server: 'raw' });
    assert.ok((await inFlight())! >= 1, 'the held stream, and the requests queued behind it, are in flight');
    socket.destroy();
    await waitFor(async () => (await inFlight()) === 0, 'the in-flight gauge to return to 0', 3000);
    await waitFor(() => mux.logs.filter((r) => r.msg === 'request' && r.server === 'raw' && r.path === '/raw/headers' && r.aborted === true).length === 2, 'an access-log record for each queued request', 3000);
  });

  it('answers 502 when the child hangs up without answering', async () => {
    const res = await fetch(`${mux.publicUrl}/raw/hangup`);
    assert.equal(res.status, 502);
    const body = (await res.json()) as { error: { message: string } };
    assert.equal(body.error.message, 'Server raw could not be reached');
  });

  it('answers 502, and keeps serving, when the child sends a status line Node will not repeat', async () => {
    for (const path of ['/raw/status000', '/raw/switch']) {
      const res = await fetch(`${mux.publicUrl}${path}`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 502, path);
    }
    const badReason = await fetch(`${mux.publicUrl}/raw/badreason`);
    assert.equal(badReason.status, 200, "the child's reason phrase is not repeated, so it cannot break the answer");
    assert.equal(await badReason.text(), 'ok');
    assert.equal((await fetch(`${mux.adminUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${mux.publicUrl}/raw/headers`)).status, 200);
  });

  it('never lets a chunked body run unframed into the next request on a pooled connection', async () => {
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: evil.example\r\n\r\n';
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    for (const method of ['GET', 'DELETE', 'OPTIONS']) {
      const answer = await rawExchange(port, `${method} /order/first HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`, /ok$/);
      assert.match(answer, /^HTTP\/1\.1 200 /, method);
      await fetch(`${mux.publicUrl}/order/second`);
      const log = (await (await fetch(`${mux.publicUrl}/order/log`)).json()) as string[];
      assert.deepEqual(log, [`${method} /first`, 'GET /second'], `${method}: the child saw only the requests that were sent`);
    }
  });

  it('closes the client stream when the child breaks off mid-response', async () => {
    const res = await fetch(`${mux.publicUrl}/raw/break`);
    assert.equal(res.status, 200);
    await assert.rejects(res.text(), 'the stream ends in an error, not a clean end, and never hangs');
  });

  it('refuses paths that normalisation would change, with 400', async () => {
    for (const path of ['/raw/../raw/headers', '/raw/%2e%2e/headers', '/raw%2fheaders', '/raw/./headers', '/raw//headers', '/raw/a%5cb', '/raw/%00']) {
      const answer = await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`, /\}$/);
      assert.match(answer, /^HTTP\/1\.1 400 /, path);
    }
    const absolute = await rawExchange(port, 'GET http://localhost/raw/headers HTTP/1.1\r\nHost: localhost\r\n\r\n', /\}$/);
    assert.match(absolute, /^HTTP\/1\.1 400 /);
  });

  it('refuses a Host or Origin outside the loopback default with 403', async () => {
    const badHost = await rawExchange(port, 'GET /raw/headers HTTP/1.1\r\nHost: evil.example\r\n\r\n', /\}$/);
    assert.match(badHost, /^HTTP\/1\.1 403 /);
    const badOrigin = await fetch(`${mux.publicUrl}/raw/headers`, { headers: { origin: 'http://evil.example' } });
    assert.equal(badOrigin.status, 403);
    const goodOrigin = await fetch(`${mux.publicUrl}/raw/headers`, { headers: { origin: 'http://localhost:5173' } });
    assert.equal(goodOrigin.status, 200);
  });

  it('answers 503 with Retry-After while the child is gone, then serves again', async () => {
    const res = await fetch(`${mux.publicUrl}/raw/exit`);
    await assert.rejects(res.text());
    await waitFor(async () => (await mux.status()).servers.find((s) => s.name === 'raw')!.state !== 'ready', 'raw to leave ready');
    const during = await fetch(`${mux.publicUrl}/raw/headers`);
    if (during.status === 503) assert.equal(during.headers.get('retry-after'), '1');
    await waitFor(async () => (await fetch(`${mux.publicUrl}/raw/headers`)).status === 200, 'raw to serve again');
    const other = await fetch(`${mux.publicUrl}/raw/deeper/headers`);
    assert.equal(other.status, 200);
  });
});
