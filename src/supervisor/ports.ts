/** Free loopback ports, for children whose config says `port: auto`. */
import net from 'node:net';
import { PortError } from '../errors.js';

export const CHILD_HOST = '127.0.0.1';

/** Asks the OS for a port that is free on loopback now. The child binds it moments later. */
export function findFreePort(host = CHILD_HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (cause) => reject(new PortError(`no free port on ${host}`, { cause })));
    server.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on the port and it can be bound. */
export function isPortFree(port: number, host = CHILD_HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
