/**
 * The bridge's own answers: as the SDK's transport answers where the bridge stands in for a
 * 2025-era server (no session, unknown session), and from mcpmux's catalogue (../answers.ts)
 * where the trouble is the bridge's own (no room, no process, a body over the limit).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, sendRefusal } from '../answers.js';

/**
 * A JSON-RPC error with no id, in the SDK transport's words and codes: what a 2025-era server says,
 * so that a client reads the bridge as one (a 2026-07-28 client then falls back to initialize).
 */
export function sendLegacyServerError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}

/** The parsed body, or undefined once a 413 or a parse error has been sent. */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      sendRefusal(res, 'body_too_large', `the request body is over ${maxBytes} bytes`);
      res.once('finish', () => req.destroy());
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
  } catch {
    sendLegacyServerError(res, 400, -32700, 'Parse error: the body is not JSON');
    return undefined;
  }
}
