/**
 * The proxy engine: http-proxy-3 over a keep-alive agent, one forwarder per child process.
 * Around the engine, mcpmux owns the parts it got wrong in measurement:
 * - request headers are prepared before the engine copies them (hop-by-hop, Connection-named,
 *   `Connection: close` never reaches a pooled socket);
 * - the response is written by mcpmux (`selfHandleResponse`), without hop-by-hop headers,
 *   streamed with `pipeline` so that a child dying mid-stream cuts the client's stream
 *   instead of leaving it hanging, and a client leaving destroys the upstream request.
 */
import http from 'node:http';
import { pipeline } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import { UpstreamError, type UpstreamErrorKind } from '../errors.js';
import { filterResponseHeaders } from './headers.js';
import { CHILD_HOST } from '../supervisor/ports.js';

/** Set on a response when the child's headers were written to it: the time to first byte. */
export const HEADERS_AT = Symbol('mcpmux.headersAt');

export interface ForwarderHooks {
  /** The child could not be reached, or broke off; `res.headersSent` tells whether the client already got a status. */
  onUpstreamError(error: UpstreamError, req: http.IncomingMessage, res: http.ServerResponse): void;
}

export interface Forwarder {
  readonly port: number;
  forward(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Drops pooled connections to this child. Safe to call twice. */
  close(): void;
}

export function createForwarder(port: number, hooks: ForwarderHooks): Forwarder {
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' });
  const proxy = new ProxyServer({
    target: { protocol: 'http:', host: CHILD_HOST, hostname: CHILD_HOST, port },
    agent,
    changeOrigin: true,
    selfHandleResponse: true,
    xfwd: false,
  });
  proxy.on('proxyRes', (proxyRes, _req, res) => {
    (res as http.ServerResponse & { [HEADERS_AT]?: number })[HEADERS_AT] = performance.now();
    res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, filterResponseHeaders(proxyRes.rawHeaders, proxyRes.headers.connection));
    if (isEventStream(proxyRes.headers['content-type'])) res.flushHeaders();
    pipeline(proxyRes, res, (error) => {
      if (error && !res.destroyed) res.destroy();
    });
  });
  proxy.on('error', (error, req, res) => {
    if (!(res instanceof http.ServerResponse)) return;
    hooks.onUpstreamError(new UpstreamError(classifyUpstreamError(error), { cause: error }), req, res);
  });
  proxy.on('econnreset', () => undefined);
  return {
    port,
    forward: (req, res) => proxy.web(req, res),
    close: () => agent.destroy(),
  };
}

function isEventStream(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.startsWith('text/event-stream');
}

export function classifyUpstreamError(error: unknown): UpstreamErrorKind {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'EADDRNOTAVAIL' || code === 'EHOSTUNREACH') return 'connect';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') return 'reset';
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return 'timeout';
  return 'other';
}
