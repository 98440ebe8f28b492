/**
 * The proxy engine: http-proxy-3 over a keep-alive agent, one forwarder per child process.
 * Around the engine, mcpmux owns the parts it got wrong in measurement:
 * - request headers are prepared before the engine copies them (hop-by-hop, Connection-named,
 *   `Connection: close` never reaches a pooled socket);
 * - the request target goes out verbatim (`toProxy`), never re-serialised through a URL parser;
 * - http-proxy's `deleteLength` pass is dropped: it set `Content-Length: 0` on a DELETE whose
 *   chunked body then went out unframed onto a pooled connection (request smuggling);
 * - the response is written by mcpmux (`selfHandleResponse`), without hop-by-hop headers, and a
 *   status line or header that Node refuses to repeat becomes a 502, never a crash;
 * - a 101 answer to a request that asked for no upgrade becomes a 502, never a hang;
 * - the response is piped, and a child dying mid-stream cuts the client's stream
 *   instead of leaving it hanging, and a client leaving destroys the upstream request.
 */
import http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import { UpstreamError, type UpstreamErrorKind } from '../errors.js';
import { filterResponseHeaders } from './headers.js';
import { CHILD_HOST } from '../supervisor/ports.js';

/** Set on a response when the child's headers were written to it: the time to first byte. */
export const HEADERS_AT = Symbol('mcpmux.headersAt');

export interface ForwarderHooks {
  /** The child could not be reached, or broke off; `res.headersSent` tells whether the client already got a status. */
  onUpstreamError(error: UpstreamError, req: http.IncomingMessage, res: http.ServerResponse | undefined): void;
}

export interface ForwardOptions {
  /** The body to send instead of the request itself (a byte-counting pass-through). */
  readonly body?: Readable;
  /** Buffer the child's JSON answer (small, e.g. OAuth metadata) and rewrite it before sending. */
  readonly rewriteJson?: (value: unknown) => unknown;
}

export interface Forwarder {
  readonly port: number;
  forward(req: http.IncomingMessage, res: http.ServerResponse, options?: ForwardOptions): void;
  /** Hands an Upgrade request (e.g. WebSocket) to the child, socket to socket. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Drops pooled connections to this child. Safe to call twice. */
  close(): void;
}

/**
 * Idle pooled connections are dropped after this long (or a second before the child's own
 * Keep-Alive hint, if shorter), before a child that sends no hint (uvicorn: 5 s) closes them
 * under a request that reuses one. Busy connections, open streams included, are not affected.
 */
const IDLE_UPSTREAM_MS = 4000;

const UPSTREAM = Symbol('mcpmux.upstreamRequest');

/** Cuts the request to the child, if one was made (e.g. an upload over the body limit). */
export function abortUpstream(req: http.IncomingMessage): void {
  (req as http.IncomingMessage & { [UPSTREAM]?: http.ClientRequest })[UPSTREAM]?.destroy();
}

/** Answers buffered for rewriting are at most this big; a larger one is a 502. */
const MAX_REWRITE_BYTES = 1024 * 1024;
const REWRITE = Symbol('mcpmux.rewriteJson');
type RewritableResponse = http.ServerResponse & { [REWRITE]?: (value: unknown) => unknown; [HEADERS_AT]?: number };

export function createForwarder(port: number, hooks: ForwarderHooks, upstreamTimeoutSeconds?: number): Forwarder {
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo', timeout: IDLE_UPSTREAM_MS });
  const proxy = new ProxyServer({
    target: { protocol: 'http:', host: CHILD_HOST, hostname: CHILD_HOST, port },
    agent,
    changeOrigin: true,
    selfHandleResponse: true,
    toProxy: true,
    xfwd: false,
  });
  // No public way to drop a pass; the request-smuggling test guards this across upgrades.
  const engine = proxy as unknown as { webPasses: { name: string }[] };
  engine.webPasses = engine.webPasses.filter((pass) => pass.name !== 'deleteLength');
  proxy.on('proxyReq', (proxyReq, req, res) => {
    (req as http.IncomingMessage & { [UPSTREAM]?: http.ClientRequest })[UPSTREAM] = proxyReq;
    proxyReq.once('upgrade', (_upgradeRes, socket) => {
      socket.destroy();
      hooks.onUpstreamError(new UpstreamError('other', { cause: new Error('the child answered 101 to a request that asked for no upgrade') }), req, res as http.ServerResponse);
    });
    if (upstreamTimeoutSeconds !== undefined) {
      // Idle time between bytes from the child; lifted once the answer turns out to be a stream.
      proxyReq.setTimeout(upstreamTimeoutSeconds * 1000, () => proxyReq.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })));
    }
  });
  proxy.on('proxyRes', (proxyRes, req, res: RewritableResponse) => {
    res[HEADERS_AT] = performance.now();
    const streaming = isEventStream(proxyRes.headers['content-type']);
    if (streaming) proxyRes.socket.setTimeout(0);
    const rewrite = res[REWRITE];
    if (rewrite) return void rewriteResponse(proxyRes, req, res, rewrite);
    try {
      res.writeHead(proxyRes.statusCode ?? 502, filterResponseHeaders(proxyRes.rawHeaders, proxyRes.headers.connection));
    } catch (error) {
      proxyRes.destroy();
      hooks.onUpstreamError(new UpstreamError('other', { cause: error }), req, res);
      return;
    }
    if (streaming) res.flushHeaders();
    // pipe, not pipeline: pipeline builds an AbortController and a DOMException per response,
    // measured at ~30 µs of CPU per proxied request. The two directions of teardown by hand:
    // a child breaking off cuts the client; a client leaving is handled by http-proxy, which
    // destroys the upstream request.
    proxyRes.once('error', () => res.destroy());
    proxyRes.once('aborted', () => res.destroy());
    proxyRes.pipe(res);
  });

  async function rewriteResponse(proxyRes: http.IncomingMessage, req: http.IncomingMessage, res: http.ServerResponse, rewrite: (value: unknown) => unknown) {
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of proxyRes) {
        size += (chunk as Buffer).length;
        if (size > MAX_REWRITE_BYTES) throw new Error('answer too large to rewrite');
        chunks.push(chunk as Buffer);
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body = text;
      if ((proxyRes.statusCode ?? 0) < 300 && /json/.test(proxyRes.headers['content-type'] ?? '')) body = JSON.stringify(rewrite(JSON.parse(text)));
      const headers = filterResponseHeaders(proxyRes.rawHeaders, proxyRes.headers.connection);
      const clean: string[] = [];
      for (let i = 0; i < headers.length; i += 2) if (!/^content-(length|encoding)$/i.test(headers[i]!)) clean.push(headers[i]!, headers[i + 1]!);
      res.writeHead(proxyRes.statusCode ?? 502, [...clean, 'content-length', String(Buffer.byteLength(body))]);
      res.end(body);
    } catch (error) {
      hooks.onUpstreamError(new UpstreamError('other', { cause: error }), req, res);
    }
  }
  proxy.on('error', (error, req, res) => {
    if (!(res instanceof http.ServerResponse)) return;
    hooks.onUpstreamError(new UpstreamError(classifyUpstreamError(error), { cause: error }), req, res);
  });
  proxy.on('econnreset', () => undefined);
  return {
    port,
    forward(req, res, options) {
      if (options?.rewriteJson) (res as RewritableResponse)[REWRITE] = options.rewriteJson;
      if (options?.body) proxy.web(req, res, { buffer: options.body });
      else proxy.web(req, res);
    },
    upgrade(req, socket, head) {
      proxy.ws(req, socket, head, undefined, (error) => {
        hooks.onUpstreamError(new UpstreamError(classifyUpstreamError(error), { cause: error }), req, undefined);
        socket.destroy();
      });
    },
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
