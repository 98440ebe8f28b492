/**
 * Serves an MCP server over streamable HTTP at /mcp on $HOST:$PORT, the way the SDK documents it:
 * one McpServer and one transport per session, sessions ended by DELETE or on shutdown.
 * Shared by the example servers; each of them only registers its tools.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport, type EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

export interface ServeOptions {
  readonly path?: string;
  readonly host?: string;
  readonly port?: number;
  /** Makes streams resumable with Last-Event-ID; one store per session. */
  readonly createEventStore?: () => EventStore;
  /** Called with the number of open sessions whenever it changes. */
  readonly onSessionCount?: (count: number) => void;
  /** Answers a request with one JSON body instead of an SSE stream (the SDK's enableJsonResponse). */
  readonly jsonResponse?: boolean;
}

export function serveMcp(createServer: () => McpServer, options: ServeOptions = {}): http.Server {
  const path = options.path ?? '/mcp';
  const host = options.host ?? process.env.HOST ?? '127.0.0.1';
  const port = options.port ?? Number(process.env.PORT ?? 3000);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const forget = (id: string) => {
    if (sessions.delete(id)) options.onSessionCount?.(sessions.size);
  };

  const httpServer = http.createServer(async (req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) process.stderr.write(`client closed ${req.method} ${req.url} before the response finished\n`);
    });
    try {
      if ((req.url ?? '/').split('?', 1)[0] !== path) return reply(res, 404, 'Not found');
      const sessionId = req.headers['mcp-session-id'];
      if (typeof sessionId === 'string') {
        const transport = sessions.get(sessionId);
        if (!transport) return reply(res, 404, 'Session not found');
        return await transport.handleRequest(req, res);
      }
      if (req.method !== 'POST') return reply(res, 400, 'Bad Request: no session id');
      const body = await readJson(req);
      if (!isInitializeRequest(body)) return reply(res, 400, 'Bad Request: no session id');
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: options.createEventStore?.(),
        enableJsonResponse: options.jsonResponse ?? false,
        onsessioninitialized: (id) => {
          sessions.set(id, transport);
          options.onSessionCount?.(sessions.size);
        },
        onsessionclosed: (id) => forget(id),
      });
      transport.onclose = () => {
        if (transport.sessionId) forget(transport.sessionId);
      };
      await createServer().connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (error) {
      process.stderr.write(`request failed: ${(error as Error).message}\n`);
      if (!res.headersSent) reply(res, 500, 'Internal error');
      else res.destroy();
    }
  });

  httpServer.listen(port, host, () => process.stderr.write(`listening on http://${host}:${port}${path}\n`));
  const shutdown = () => {
    httpServer.close();
    void Promise.all([...sessions.values()].map((t) => t.close())).finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return httpServer;
}

function reply(res: http.ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
