/** What every bench script sends, and the programs it sends it to. */
import path from 'node:path';
import { ROOT } from '../helpers/paths.js';

/** The bench's MCP child (bench/child.ts) and the node:http floor (bench/floor.ts), compiled. */
export const CHILD = path.join(ROOT, 'dist/test/bench/child.js');
export const FLOOR = path.join(ROOT, 'dist/test/bench/floor.js');
export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
/** A stateless tools/call the child answers with JSON. */
export const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } });
