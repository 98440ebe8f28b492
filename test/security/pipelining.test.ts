/**
 * Pipelined requests run one at a time per connection, in order, as HTTP/1.1 answers them: one
 * connection can never become a thousand upstream streams.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { rawExchange } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

describe('pipelining', () => {
  let mux: Mcpmux;
  let port: number;
  before(async () => {
    mux = await startMcpmux({ listen: { host: '127.0.0.1' }, servers: { raw: fixtureServer('raw-http') } });
    await mux.waitReady();
    port = Number(new URL(mux.publicUrl).port);
  });
  after(stopAll);

  const holds = async () => (await (await fetch(`${mux.publicUrl}/raw/holds`)).json()) as { opened: number; open: number };

  it('opens at most one upstream stream for 1,000 pipelined SSE GETs on one connection, and closes the connection', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET /raw/hold HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(1000));
    await closed;
    assert.ok(answer.split('HTTP/1.1 ').length - 1 <= 1, 'no other request ran while the first one was in progress');
    await waitFor(async () => (await holds()).open === 0, 'any stream to be closed at the child');
    assert.ok((await holds()).opened <= 1, 'the child saw at most one stream, not a thousand');
    assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_connections_closed_total', { reason: 'pipelined' }), 1);
    assert.equal((await fetch(`${mux.publicUrl}/raw/headers`)).status, 200, 'others are served');
  });

  it('answers a few pipelined requests in order, one after the other', async () => {
    const before = (await holds()).opened;
    const requests = ['/raw/sse?n=2&ms=20', '/raw/headers', '/raw/sse?n=1&ms=5', '/raw/nope'];
    const answer = await rawExchange(port, requests.map((path) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`).join('') + 'GET /raw/headers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 200, 200, 404, 200]);
    assert.ok(answer.indexOf('event 2') < answer.indexOf('"method":"GET"'), 'the first stream ended before the next request was answered');
    assert.equal((await holds()).opened, before);
  });
});
