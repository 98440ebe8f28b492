/** `tcpSocket`: the probe passes when a TCP connection to the child's port opens. */
import net from 'node:net';
import { resultFromError, success, type ProbeResult } from './result.js';
import type { ProbeTarget } from './result.js';

export function probeTcp(target: ProbeTarget, timeoutSeconds: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutSeconds * 1000, () => done(resultFromError(undefined, true, timeoutSeconds)));
    socket.once('connect', () => done(success('connected')));
    socket.once('error', (error) => done(resultFromError(error, false, timeoutSeconds)));
  });
}
