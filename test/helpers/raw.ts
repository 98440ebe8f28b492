/** Raw HTTP/1.1 over a TCP socket, for requests no well-behaved client would send. */
import net from 'node:net';

/**
 * Sends raw bytes and resolves with what came back once the peer closes or `until` matches.
 * A reset after an answer counts as a close: what was read is what the client saw.
 */
export function rawExchange(port: number, text: string | Buffer, until?: RegExp, timeoutMs = 8000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      data += chunk;
      if (until?.test(data)) socket.destroy();
    });
    socket.on('close', () => resolve(data));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(data) : reject(error)));
    socket.setTimeout(timeoutMs, () => socket.destroy());
  });
}

/** The status code of a raw answer. */
export const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
