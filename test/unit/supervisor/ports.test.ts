import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, it } from 'node:test';
import { describePortHolder, findPortHolder } from '../../../src/supervisor/ports.js';
import { freePort } from '../../helpers/ports.js';

const command = readFileSync('/proc/self/comm', 'utf8').trim();

function listen(port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

describe('findPortHolder', () => {
  for (const host of ['127.0.0.1', '::1']) {
    it(`finds the process listening on a port of ${host}, with its command`, async () => {
      const server = await listen(0, host);
      try {
        const { port } = server.address() as net.AddressInfo;
        assert.deepEqual(findPortHolder(port), { pid: process.pid, command });
        assert.equal(describePortHolder(port), `port ${port} is held by pid ${process.pid} (${command}), not a process of this mcpmux: an orphan of an earlier run?`);
      } finally {
        server.close();
      }
    });
  }

  it('finds nothing on a port nobody listens on, and says only that it is in use', async () => {
    const port = await freePort();
    assert.equal(findPortHolder(port), undefined);
    assert.equal(describePortHolder(port), `port ${port} is in use`);
  });

  it('does not take a connected socket on that port for a listener', async () => {
    const server = await listen(0, '127.0.0.1');
    const { port } = server.address() as net.AddressInfo;
    const client = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    server.close();
    try {
      // The listener is closed; the accepted connection and the client's socket remain.
      assert.equal(findPortHolder(port), undefined);
    } finally {
      client.destroy();
    }
  });
});
