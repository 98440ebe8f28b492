/**
 * The benchmark's child: a stateless MCP server built with the SDK (one McpServer and transport per
 * request, as the SDK documents stateless mode). JSON_RESPONSE=0 answers with SSE instead of JSON.
 * SESSIONS=1 makes it stateful instead (servers/shared/serve.ts: a transport per session, ids
 * minted on initialize), for the rows that measure what a session costs (the cluster row).
 *   tools: add(a, b); stream(count, intervalMs) sends `count` progress notifications.
 *   GET /hold: an SSE stream that stays open and idle.
 */
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { serveMcp } from '../../servers/shared/serve.js';

const json = process.env.JSON_RESPONSE !== '0';

function createServer(): McpServer {
  const server = new McpServer({ name: 'bench', version: '1.0.0' });
  server.registerTool('add', { inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }));
  server.registerTool('stream', { inputSchema: { count: z.number(), intervalMs: z.number() } }, async ({ count, intervalMs }, extra) => {
    const progressToken = extra._meta?.progressToken ?? 'bench';
    for (let i = 1; i <= count; i++) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: i, total: count } });
    }
    return { content: [{ type: 'text', text: `sent ${count}` }] };
  });
  return server;
}

if (process.env.SESSIONS === '1') serveMcp(createServer, { jsonResponse: json });
else http
  .createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/hold') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      return;
    }
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const server = createServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: json });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, JSON.parse(Buffer.concat(chunks).toString('utf8')));
  })
  .listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
