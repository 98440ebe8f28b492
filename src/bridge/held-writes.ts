/**
 * An answer's writes held back for a moment: the SDK's transport writes an SSE answer's head as
 * soon as it takes a POST, before the process has answered, and its event and end after. Held,
 * a quick answer leaves as one write (head, event and end) instead of two, and mcpmux reads it in
 * one. The hold ends with the answer (end() uncorks the socket fully), or after `ms`, so that a
 * slow answer's head and each event of a long stream still go out. The socket is corked, not the
 * response: under Node 24, a corked ServerResponse loses what is written before its end.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long a head may wait for its answer's first event: far less than a client would notice. */
export const HOLD_MS = 5;

export function holdWrites(res: ServerResponse, ms = HOLD_MS): void {
  const socket = res.socket;
  if (!socket) return;
  socket.cork();
  setTimeout(releaseWrites, ms, socket);
}

function releaseWrites(socket: Socket): void {
  // An ended answer uncorked it already; a next request's hold on the same connection is only ended early.
  if (socket.writableCorked) socket.uncork();
}
