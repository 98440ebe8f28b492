/** Slow clients and huge bodies: the limits hold, and nobody else notices. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ensureDebianCommand } from '../helpers/debian.js';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { ROOT } from '../helpers/paths.js';
import { rawExchange, statusOf } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

describe('slow clients and large bodies', () => {
  let mux: Mcpmux;
  let port: number;
  before(async () => {
    mux = await startMcpmux({
      listen: { host: '127.0.0.1', limits: { maxBodyBytes: 4 * 1024 * 1024, headersTimeoutSeconds: 2, requestTimeoutSeconds: 10 } },
      servers: {
        raw: fixtureServer('raw-http'),
        echo: { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT },
      },
    });
    await mux.waitReady();
    port = Number(new URL(mux.publicUrl).port);
  });
  after(stopAll);

  it('closes 200 connections that trickle their headers, while an MCP call completes promptly', async () => {
    const sockets: net.Socket[] = [];
    let closed = 0;
    const timers: NodeJS.Timeout[] = [];
    for (let i = 0; i < 200; i++) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => (closed += 1));
      socket.write('GET /raw/headers HTTP/1.1\r\nHost: localhost\r\n');
      timers.push(setInterval(() => socket.writable && socket.write(`X-Slow-${Date.now()}: 1\r\n`), 300));
      sockets.push(socket);
    }
    try {
      const started = performance.now();
      const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'through the crowd' } })), 'Echo: through the crowd');
      await client.close();
      const tookMs = performance.now() - started;
      assert.ok(tookMs < 2000, `the MCP call took ${tookMs.toFixed(0)} ms`);
      await waitFor(() => closed === 200, `the 200 stalled connections to be closed (${closed} so far)`, 6000);
    } finally {
      timers.forEach(clearInterval);
      sockets.forEach((s) => s.destroy());
    }
  });

  it('refuses a 64 MiB body against a 4 MiB limit with 413, without holding it in memory', async () => {
    const pid = mux.proc.pid!;
    const before = rssOf(pid);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => {
        data += chunk;
        if (/\r\n\r\n\{.*\}$/s.test(data)) socket.end();
      });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.write(`POST /raw/headers HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      let sent = 0;
      const pump = () => {
        while (sent < 64) {
          sent += 1;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    const grew = rssOf(pid) - before;
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.ok(grew < 16 * 1024 * 1024, `mcpmux's RSS grew by ${(grew / 1024 / 1024).toFixed(1)} MiB`);
    assert.equal((await fetch(`${mux.publicUrl}/raw/headers`)).status, 200);
  });
});

/** Opens a connection to mcpmux's public port. */
function open(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
    socket.on('error', () => undefined);
  });
}

/** A connection whose first request to `path` has been answered (its first bytes at least). */
async function connectionAfter(port: number, path: string): Promise<net.Socket> {
  const socket = await open(port);
  const answered = firstBytes(socket, `an answer to GET ${path}`);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  await answered;
  return socket;
}

/** Resolves with the first bytes the socket reads; fails if it closes first or nothing comes in 5 s. */
function firstBytes(socket: net.Socket, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within 5 s`)), 5000);
    socket.once('data', (data: Buffer) => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`the connection closed before ${what}`));
    });
  });
}

/** A keep-alive connection that has had one whole request and answer, and sits idle. */
const idleConnection = (port: number) => connectionAfter(port, '/raw/headers');
/** A connection busy with an SSE stream that never ends. */
const busyConnection = (port: number) => connectionAfter(port, '/raw/hold');

const isClosed = (socket: net.Socket) => socket.destroyed || socket.readyState === 'closed' || socket.readableEnded;

describe('the connection cap', () => {
  after(stopAll);

  it('refuses a connection past maxConnections when every slot is busy, and takes new ones once some close', async () => {
    const mux = await startMcpmux({ listen: { host: '127.0.0.1', limits: { maxConnections: 5 } }, servers: { raw: fixtureServer('raw-http') } });
    await mux.waitReady();
    const port = Number(new URL(mux.publicUrl).port);
    const held = await Promise.all(Array.from({ length: 5 }, () => busyConnection(port)));
    const extra = await open(port);
    await waitFor(() => isClosed(extra), 'the sixth connection to be closed by mcpmux', 3000);
    assert.ok(held.every((s) => !isClosed(s)), 'no busy connection was closed to make room');
    assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_connections_closed_total', { reason: 'full' }), 1);
    held.forEach((s) => s.destroy());
    await waitFor(async () => (await fetch(`${mux.publicUrl}/raw/headers`)).status === 200, 'a connection to be taken again');
  });

  it('closes the longest-idle keep-alive connection to serve a new client, when one client holds every slot', async () => {
    const mux = await startMcpmux({ listen: { host: '127.0.0.1', limits: { maxConnections: 50 } }, servers: { raw: fixtureServer('raw-http') } });
    await mux.waitReady();
    const port = Number(new URL(mux.publicUrl).port);
    const hog: net.Socket[] = [];
    for (let i = 0; i < 50; i++) hog.push(await idleConnection(port));
    assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_connections_open'), 50);
    // A new client opens 20 keep-alive connections of its own: each one is served.
    const newcomer: net.Socket[] = [];
    for (let i = 0; i < 20; i++) newcomer.push(await idleConnection(port));
    await waitFor(() => hog.filter(isClosed).length === 20, 'the hog to lose 20 connections', 3000);
    assert.deepEqual(hog.map(isClosed), [...Array(20).fill(true), ...Array(30).fill(false)], 'the longest idle went first');
    assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_connections_closed_total', { reason: 'idle' }), 20);
    newcomer.forEach((s) => s.destroy());
    hog.forEach((s) => s.destroy());
  });

  it('caps connections per client address, with trusted proxies exempt', async () => {
    const capped = await startMcpmux({ listen: { host: '127.0.0.1', limits: { maxConnectionsPerClient: 3 } }, servers: { raw: fixtureServer('raw-http') } });
    const exempt = await startMcpmux({ listen: { host: '127.0.0.1', trustedProxies: ['127.0.0.1'], limits: { maxConnectionsPerClient: 3 } }, servers: { raw: fixtureServer('raw-http') } });
    await Promise.all([capped.waitReady(), exempt.waitReady()]);
    for (const [mux, refused] of [[capped, true], [exempt, false]] as const) {
      const port = Number(new URL(mux.publicUrl).port);
      const held = await Promise.all(Array.from({ length: 3 }, () => busyConnection(port)));
      const fourth = await open(port);
      fourth.write('GET /raw/headers HTTP/1.1\r\nHost: localhost\r\n\r\n');
      if (refused) {
        await waitFor(() => isClosed(fourth), 'the fourth connection from one address to be refused', 3000);
        assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_connections_closed_total', { reason: 'per-client' }), 1);
      } else {
        await firstBytes(fourth, 'an answer on the fourth connection');
        assert.ok(!isClosed(fourth), 'a trusted proxy carries many clients: no cap');
      }
      [...held, fourth].forEach((s) => s.destroy());
    }
  });

  it('lowers maxConnections to what the open-file limit holds, says so, and keeps /healthz answering', async () => {
    const prlimit = ensureDebianCommand('prlimit', 'util-linux');
    const mux = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { raw: fixtureServer('raw-http') } }, { wrapper: [prlimit, '--nofile=1024:1024', '--'] });
    await mux.waitReady();
    const warning = await mux.waitForLog((r) => r.lowered !== undefined, 'the warning about the open-file limit');
    assert.equal(warning.level, 'warn');
    assert.equal(warning.fileLimit, 1024);
    assert.equal(warning.maxConnections, 4096);
    const lowered = warning.lowered as number;
    assert.ok(lowered > 300 && lowered < 512, `lowered to ${lowered}`);
    // Every slot busy with a stream: children and the admin listener still have descriptors.
    const port = Number(new URL(mux.publicUrl).port);
    const held: net.Socket[] = [];
    for (let i = 0; i < lowered; i++) held.push(await busyConnection(port));
    const extra = await open(port);
    await waitFor(() => isClosed(extra), 'a connection past the lowered cap to be refused', 3000);
    assert.equal((await fetch(`${mux.adminUrl}/healthz`)).status, 200);
    assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_upstream_errors_total', { server: 'raw', kind: 'connect' }), undefined, 'no connect to the child failed (EMFILE)');
    held.forEach((s) => s.destroy());
    await waitFor(async () => (await fetch(`${mux.publicUrl}/raw/headers`)).status === 200, 'the public port to serve again');
  });
});
