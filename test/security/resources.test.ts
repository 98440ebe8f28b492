/** Slow clients and huge bodies: the limits hold, and nobody else notices. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { ROOT } from '../helpers/paths.js';
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

describe('the connection cap', () => {
  after(stopAll);

  it('refuses connections past maxConnections, and takes new ones once some close', async () => {
    const mux = await startMcpmux({ listen: { host: '127.0.0.1', limits: { maxConnections: 5 } }, servers: { raw: fixtureServer('raw-http') } });
    await mux.waitReady();
    const port = Number(new URL(mux.publicUrl).port);
    const open = () =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => undefined);
      });
    // Five keep-alive connections, each proven accepted by a full request and answer.
    const held = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const socket = await open();
        const answered = new Promise((resolve) => socket.once('data', resolve));
        socket.write('GET /raw/headers HTTP/1.1\r\nHost: localhost\r\n\r\n');
        await answered;
        return socket;
      }),
    );
    const extra = await open();
    await waitFor(() => extra.destroyed || extra.readyState === 'closed' || extra.readableEnded, 'the sixth connection to be closed by mcpmux', 3000);
    held.forEach((s) => s.destroy());
    await waitFor(async () => (await fetch(`${mux.publicUrl}/raw/headers`)).status === 200, 'a connection to be taken again');
  });
});

