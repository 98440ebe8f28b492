/**
 * The request body limit for bodies of unknown length (chunked): bytes are counted as they stream
 * through, never buffered. Past the limit the upload to the child is cut, the client gets 413,
 * and the rest of its body is read and dropped (so the 413 is not lost to a reset), within the
 * listener's requestTimeout. A declared Content-Length over the limit is refused the same way
 * before any byte is forwarded.
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';

export function limitBody(req: IncomingMessage, maxBytes: number, onExceeded: () => void): Readable {
  let seen = 0;
  let exceeded = false;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen <= maxBytes) return callback(null, chunk);
      if (!exceeded) {
        exceeded = true;
        req.unpipe(counter);
        onExceeded();
        discardBody(req);
      }
      callback();
    },
  });
  req.pipe(counter);
  return counter;
}

/** Reads what is left of a request body and drops it. */
export function discardBody(req: IncomingMessage): void {
  req.removeAllListeners('data');
  req.resume();
}

/**
 * Reads a whole request body, up to `maxBytes`: `done` gets it, or past the limit `tooLarge` is
 * called once and the rest is read and dropped. For the few who must see a body before it goes on
 * (a route's policy, a trace's `_meta`); everything else streams.
 */
export function readWholeBody(req: IncomingMessage, maxBytes: number, done: (body: Buffer) => void, tooLarge: () => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= maxBytes) return void chunks.push(chunk);
    req.off('data', onData);
    req.off('end', onEnd);
    tooLarge();
    discardBody(req);
  };
  // A body that came in one chunk (most) is that chunk, not a copy of it.
  const onEnd = () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  req.on('data', onData);
  req.once('end', onEnd);
}
