/**
 * An answer's writes held back for a moment: the SDK's transport writes an SSE answer's head as
 * soon as it takes a POST, before the process has answered, and its event and end after. Held,
 * a quick answer leaves as one write (head, event and end) instead of two, and mcpmux reads it in
 * one. The hold ends with the answer (end() flushes all), or after `ms`, so that a slow answer's
 * head and each event of a long stream still go out.
 */
import type { ServerResponse } from 'node:http';

/** How long a head may wait for its answer's first event: far less than a client would notice. */
export const HOLD_MS = 5;

export function holdWrites(res: ServerResponse, ms = HOLD_MS): void {
  res.cork();
  setTimeout(releaseWrites, ms, res);
}

function releaseWrites(res: ServerResponse): void {
  // An ended answer flushed everything; its connection may be corked by the next request by now.
  if (!res.writableEnded && res.writableCorked) res.uncork();
}
