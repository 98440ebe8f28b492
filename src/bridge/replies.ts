/** The bridge's own answers: JSON bodies, JSON-RPC errors, and a bounded read of a request body. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A JSON-RPC error with no id, as the SDK's transport writes its own refusals. */
export function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}

/** The parsed body, or undefined once a 413 or a parse error has been sent. */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      sendJsonRpcError(res, 413, -32000, `the request body is over ${maxBytes} bytes`);
      res.once('finish', () => req.destroy());
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
  } catch {
    sendJsonRpcError(res, 400, -32700, 'Parse error: the body is not JSON');
    return undefined;
  }
}
