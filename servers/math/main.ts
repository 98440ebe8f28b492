/** The seed's math server: add_two(m, n) -> m + n. */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { serveMcp } from '../shared/serve.js';

export function createMathServer(): McpServer {
  const server = new McpServer({ name: 'math', version: '1.0.0' });
  server.registerTool(
    'add_two',
    { description: 'Add two numbers', inputSchema: { m: z.number(), n: z.number() } },
    async ({ m, n }) => ({ content: [{ type: 'text', text: String(m + n) }] }),
  );
  return server;
}

serveMcp(createMathServer);
