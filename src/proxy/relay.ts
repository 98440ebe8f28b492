/**
 * `source.pipe(sink)` without pipe's per-call closures: bytes relayed chunk by chunk with
 * backpressure, by three shared listeners that find their pair through symbols (pipe makes ten
 * closures per call; pipeline an AbortController and a DOMException, measured at ~30 µs).
 * Teardown is the caller's.
 *
 * A sink may carry something `HELD` back until the first byte (a response's status and headers):
 * it is committed before the first chunk or the end, and a commit that fails stops the relay.
 * A sink may carry a `TAP`, which sees each chunk as it passes.
 *
 * What one turn of the event loop brings is written in one system call: the sink's socket is
 * corked at its first chunk and uncorked once the turn's I/O is handled (setImmediate), or by the
 * sink's end. A short answer that arrives whole (its head, its one SSE event and its last chunk)
 * so leaves in one write instead of two: Node's own cork is undone on the next tick, before the
 * source's end, which Node emits a tick later. A stream's events still leave in the turn they
 * came in. The socket is corked, not the message: under Node 24, a corked ServerResponse loses
 * what is written before its end.
 */
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

export const HELD = Symbol('mcpmux.held');
/** A sink's tap: a shared function (no closure per request) that sees each chunk before it is written. */
export const TAP = Symbol('mcpmux.tap');

/** What a sink holds back until its first byte. `commit` returns false when the exchange is over. */
export interface Held {
  commit(sink: Writable): boolean;
}

const SINK = Symbol('mcpmux.relaySink');
const SOURCE = Symbol('mcpmux.relaySource');
type HoldingSink = Writable & { [HELD]?: Held | undefined; [TAP]?: ((this: Writable, chunk: Buffer) => void) | undefined };
type RelaySource = Readable & { [SINK]: HoldingSink };
type RelaySink = Writable & { [SOURCE]: Readable };

export function relay(source: Readable, sink: Writable): void {
  (source as RelaySource)[SINK] = sink;
  (sink as RelaySink)[SOURCE] = source;
  source.on('data', relayChunk);
  source.on('end', relayEnd);
  sink.on('drain', relayDrain);
}

function relayChunk(this: RelaySource, chunk: Buffer): void {
  const sink = this[SINK];
  if (sink[HELD] && !sink[HELD].commit(sink)) return;
  sink[TAP]?.(chunk);
  const socket = (sink as { socket?: Socket | null }).socket;
  if (socket && !socket.writableCorked) {
    socket.cork();
    setImmediate(uncorkSocket, socket);
  }
  if (!sink.write(chunk)) this.pause();
}

function uncorkSocket(socket: Socket): void {
  // A message's end() uncorks its socket fully; one corked again since is only flushed early.
  if (socket.writableCorked) socket.uncork();
}

function relayEnd(this: RelaySource): void {
  const sink = this[SINK];
  if (sink[HELD] && !sink[HELD].commit(sink)) return;
  sink.end();
}

function relayDrain(this: RelaySink): void {
  this[SOURCE].resume();
}
