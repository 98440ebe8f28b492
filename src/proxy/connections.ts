/**
 * The public listener's connections: their slots shared fairly, and one request at a time each.
 *
 * - **Slots.** At `maxConnections`, the connection that has been idle longest (no request in
 *   progress: a keep-alive connection between requests, or one that has not sent a request yet)
 *   is closed to admit the new one, as nginx does when it runs short. With none idle, the new
 *   connection is refused. One client holding every slot with idle connections cannot lock others out.
 * - **Per client.** With `maxConnectionsPerClient`, one address may hold at most that many;
 *   `trustedProxies` are exempt, since one of them carries many clients.
 * - **Pipelining.** HTTP/1.1 answers pipelined requests in order, so a connection's requests run
 *   one at a time: the next starts when the one before it is done. A client can never make mcpmux
 *   open more upstream requests than it has connections. More than MAX_PIPELINED waiting on one
 *   connection closes it: no client needs that, and each waiting request holds memory.
 *
 * Per request this costs a symbol lookup and a flag; a closure is made only for a request that waits.
 */
import type { Socket } from 'node:net';
import type { ConnectionCloseReason } from '../events.js';

/** Requests that may wait behind the one in progress on one connection. */
export const MAX_PIPELINED = 32;

export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerClient?: number | undefined;
}

/**
 * mcpmux closed a connection to keep its limits: refused (`full`, `per-client`), closed while
 * idle to admit a new one (`idle`), or pipelining past MAX_PIPELINED (`pipelined`).
 */
export type OnConnectionClosed = (reason: ConnectionCloseReason) => void;

export interface ConnectionGate {
  /** For the server's 'connection' event: admits the socket, or destroys it. */
  admit(socket: Socket): void;
  /**
   * True when a request may start now on this connection (none is in progress); the caller then
   * calls `leave` once it is done. False when another is in progress: the caller passes a
   * continuation to `wait`.
   */
  enter(socket: Socket): boolean;
  /** Runs `start` when the requests before it on this connection are done (`start` then owns a `leave`). */
  wait(socket: Socket, start: () => void): void;
  /** The request in progress on this connection is done: the next waiting one starts. */
  leave(socket: Socket): void;
  /** Connections open now. */
  readonly open: number;
}

interface ConnectionState {
  readonly address: string;
  /** Counted against its address's cap (not a trusted proxy, and a cap is set). */
  readonly capped: boolean;
  active: boolean;
  waiting: (() => void)[] | undefined;
  /** Its slot was given back already (evicted: its 'close' comes later). */
  released: boolean;
}
const STATE = Symbol('mcpmux.connection');
type TrackedSocket = Socket & { [STATE]?: ConnectionState };

export function createConnectionGate(limits: ConnectionLimits, isTrusted: (address: string | undefined) => boolean, onClosed: OnConnectionClosed = () => undefined): ConnectionGate {
  /** Idle connections, longest idle first (a Set keeps insertion order). */
  const idle = new Set<TrackedSocket>();
  const perClient = new Map<string, number>();
  const perClientCap = limits.maxConnectionsPerClient;
  let open = 0;

  const release = (socket: TrackedSocket) => {
    const state = socket[STATE]!;
    if (state.released) return;
    state.released = true;
    open -= 1;
    idle.delete(socket);
    if (state.capped) {
      const left = (perClient.get(state.address) ?? 1) - 1;
      if (left === 0) perClient.delete(state.address);
      else perClient.set(state.address, left);
    }
  };
  const onClose = function (this: TrackedSocket) {
    this[STATE]!.waiting = undefined;
    release(this);
  };

  return {
    get open() {
      return open;
    },
    admit(socket: TrackedSocket) {
      const address = socket.remoteAddress ?? '';
      const capped = perClientCap !== undefined && !isTrusted(address);
      if (capped && (perClient.get(address) ?? 0) >= perClientCap) {
        onClosed('per-client');
        return void socket.destroy();
      }
      if (open >= limits.maxConnections) {
        const oldest = idle.values().next().value;
        if (!oldest) {
          onClosed('full');
          return void socket.destroy();
        }
        // Its 'close' comes later: the slot is given back now.
        release(oldest);
        oldest.destroy();
        onClosed('idle');
      }
      open += 1;
      if (capped) perClient.set(address, (perClient.get(address) ?? 0) + 1);
      socket[STATE] = { address, capped, active: false, waiting: undefined, released: false };
      idle.add(socket);
      socket.on('close', onClose);
      // Each request in flight or waiting on it listens for its close (handler.ts): up to MAX_PIPELINED + 1.
      socket.setMaxListeners(MAX_PIPELINED + 8);
    },
    enter(socket: TrackedSocket) {
      const state = socket[STATE];
      if (!state) return true; // not admitted through the gate (e.g. a test server): no policy
      if (state.active) return false;
      state.active = true;
      idle.delete(socket);
      return true;
    },
    wait(socket: TrackedSocket, start) {
      const state = socket[STATE]!;
      // Requests parsed from the same read as the one that overflowed: the connection is gone already.
      if (socket.destroyed) return;
      const waiting = (state.waiting ??= []);
      if (waiting.length >= MAX_PIPELINED) {
        onClosed('pipelined');
        return void socket.destroy();
      }
      waiting.push(start);
    },
    leave(socket: TrackedSocket) {
      const state = socket[STATE];
      if (!state) return;
      const next = state.waiting?.shift();
      if (next && !socket.destroyed) return next();
      state.active = false;
      if (!socket.destroyed) idle.add(socket);
    },
  };
}

/**
 * How many connections the file-descriptor limit can hold: each takes one descriptor, and its
 * request to a child one more; `reserved` are kept for the admin listener, children's pipes,
 * probes and pooled upstream connections.
 */
export function fitConnectionsToFiles(maxConnections: number, fileLimit: number | undefined, servers: number): { fits: number; reserved: number } {
  const reserved = 128 + 32 * servers;
  if (fileLimit === undefined) return { fits: maxConnections, reserved };
  return { fits: Math.max(1, Math.min(maxConnections, Math.floor((fileLimit - reserved) / 2))), reserved };
}

/** The soft limit on open files, as /proc/self/limits says (Node raises it to the hard limit at start). */
export function readOpenFileLimit(limitsText: string): number | undefined {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limitsText);
  if (!match || match[1] === 'unlimited') return undefined;
  return Number(match[1]);
}
