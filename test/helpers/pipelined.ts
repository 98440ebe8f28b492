/**
 * Many distinct requests, fast: raw keep-alive connections, each writing `depth` pipelined requests
 * at a time and the next batch once their answers are in, until `total` have been answered. For
 * floods where every request differs (a new session id each), which helpers/flood.ts's copies of
 * one request cannot be.
 */
import net from 'node:net';

const STATUS_LINE = /HTTP\/1\.1 (\d{3}) /g;

export interface PipelinedResult {
  /** Answers by status code. */
  readonly statuses: ReadonlyMap<number, number>;
  readonly answered: number;
  readonly milliseconds: number;
}

export async function sendPipelined(
  target: { host: string; port: number },
  request: (index: number) => string,
  options: { total: number; connections: number; depth: number },
): Promise<PipelinedResult> {
  const started = performance.now();
  const statuses = new Map<number, number>();
  let next = 0;
  let answered = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect(target.port, target.host);
      let pending = 0;
      let tail = '';
      const send = () => {
        const batch: string[] = [];
        while (batch.length < options.depth && next < options.total) batch.push(request(next++));
        if (batch.length === 0) return void socket.end();
        pending = batch.length;
        socket.write(batch.join(''));
      };
      socket.setEncoding('latin1');
      socket.setNoDelay(true);
      socket.on('connect', send);
      socket.on('data', (chunk: string) => {
        // A status line split across two chunks is found in the carried tail.
        const text = tail + chunk;
        let end = 0;
        for (const m of text.matchAll(STATUS_LINE)) {
          const status = Number(m[1]);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          answered++;
          pending--;
          end = m.index + m[0].length;
        }
        tail = text.slice(Math.max(end, text.length - 16));
        if (pending === 0) send();
      });
      socket.on('error', reject);
      socket.on('close', () => (pending === 0 ? resolve() : reject(new Error(`a connection closed with ${pending} requests unanswered`))));
    });
  await Promise.all(Array.from({ length: options.connections }, one));
  return { statuses, answered, milliseconds: performance.now() - started };
}
