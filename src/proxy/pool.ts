/**
 * The keep-alive pool of connections to one child process. Pooled connections left idle for
 * IDLE_SWEEPS sweeps in a row (between 3 and 4 s) are closed, before a child that sends no
 * Keep-Alive hint (uvicorn: 5 s) closes them under a request that reuses one. A sweep, not the
 * agent's `timeout`: that one arms a timer on every socket and refreshes it on every read and
 * write, measured at ~6 % of a proxied request. Busy connections are never swept.
 */
import http from 'node:http';
import type { Socket } from 'node:net';

const IDLE_SWEEPS = 3;
const SWEEP_MS = 1000;

export interface Pool {
  readonly agent: http.Agent;
  /** Drops every pooled connection and stops the sweep. Safe to call twice. */
  close(): void;
}

export function createPool(): Pool {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' });
  const sweep = sweepIdleSockets(agent);
  return {
    agent,
    close() {
      clearInterval(sweep);
      agent.destroy();
    },
  };
}

/** Closes pooled connections that moved no byte for IDLE_SWEEPS sweeps in a row. */
function sweepIdleSockets(agent: http.Agent): NodeJS.Timeout {
  const seen = new WeakMap<Socket, { bytes: number; sweeps: number }>();
  return setInterval(() => {
    for (const sockets of Object.values(agent.freeSockets)) {
      for (const socket of sockets ?? []) {
        const bytes = socket.bytesRead + socket.bytesWritten;
        const last = seen.get(socket);
        if (last?.bytes !== bytes) seen.set(socket, { bytes, sweeps: 0 });
        else if (++last.sweeps >= IDLE_SWEEPS) socket.destroy();
      }
    }
  }, SWEEP_MS).unref();
}
