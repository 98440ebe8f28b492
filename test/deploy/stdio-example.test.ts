/**
 * deploy/examples/stdio.yaml as a user runs it: three stdio servers from npm (filesystem, memory,
 * sequential-thinking) and the seed's Python echo and math servers in their stdio mode, each behind mcpmux's
 * bridge, driven by the TypeScript SDK client and, for filesystem and memory, by the Python SDK
 * client in its default mode, Client(url), which falls back to the initialize handshake here.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { parse } from 'yaml';
import { textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { makeTempDir, ROOT } from '../helpers/paths.js';
import { ensurePythonVenv, withoutUv } from '../helpers/python.js';
import { waitFor } from '../helpers/wait.js';

const EXAMPLE = path.join(ROOT, 'deploy/examples/stdio.yaml');
const PY_CLIENT = path.join(ROOT, 'test/fixtures/py_call_tool.py');

interface PyAnswer {
  protocol: string;
  tools: string[];
  text: string;
  isError: boolean;
}

describe('the stdio example', () => {
  let mux: Mcpmux;
  let bin: string;
  let data: string;
  before(async () => {
    bin = ensurePythonVenv();
    data = makeTempDir('mcpmux-stdio-example-');
    mkdirSync(path.join(data, 'root'));
    writeFileSync(path.join(data, 'root', 'hello.txt'), 'hello from a root\n');
    const config = parse(readFileSync(EXAMPLE, 'utf8')) as { servers: Record<string, { command: string; args: string[]; cwd?: string; env?: Record<string, string> }> };
    const { echo, math, memory } = config.servers;
    for (const python of [echo!, math!]) {
      Object.assign(python, withoutUv(python, bin));
      python.cwd = path.join(path.dirname(EXAMPLE), python.cwd!);
    }
    memory!.env = { MEMORY_FILE_PATH: path.join(data, 'memory.jsonl') };
    mux = await startMcpmux(config);
    await mux.waitReady(150_000);
  });
  after(stopAll);

  const pyCall = (server: string, tool: string, args: unknown): PyAnswer =>
    JSON.parse(execFileSync(path.join(bin, 'python'), [PY_CLIENT, `${mux.publicUrl}/${server}/mcp`, tool, JSON.stringify(args)], { encoding: 'utf8', timeout: 60_000 })) as PyAnswer;

  it("filesystem: serves the roots the client names through roots/list, not the folder in args", async () => {
    const root = path.join(data, 'root');
    const client = new Client({ name: 'fs-test', version: '1.0.0' }, { capabilities: { roots: {} } });
    client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: `file://${root}`, name: 'root' }] }));
    const transport = new StreamableHTTPClientTransport(new URL(`${mux.publicUrl}/filesystem/mcp`));
    await client.connect(transport);
    // The server asks for roots right after initialization; its answer replaces /tmp.
    await waitFor(async () => textOf(await client.callTool({ name: 'list_allowed_directories', arguments: {} })).includes(root), 'the client root to be the allowed directory');
    assert.doesNotMatch(textOf(await client.callTool({ name: 'list_allowed_directories', arguments: {} })), /^\/tmp$/m);
    assert.equal(textOf(await client.callTool({ name: 'read_text_file', arguments: { path: path.join(root, 'hello.txt') } })), 'hello from a root\n');
    await transport.terminateSession();
    await client.close();
  });

  it('filesystem: answers the Python SDK client in its default mode, which falls back to the handshake', () => {
    const answer = pyCall('filesystem', 'list_allowed_directories', {});
    assert.ok(answer.tools.includes('read_text_file'));
    assert.match(answer.text, /^Allowed directories:/);
    assert.notEqual(answer.protocol, '2026-07-28', 'a stdio server speaks the handshake protocol');
  });

  it('memory (shared): what one session stores, another reads, from the TypeScript and the Python client', async () => {
    const client = new Client({ name: 'memory-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${mux.publicUrl}/memory/mcp`)));
    const created = await client.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'mcpmux', entityType: 'project', observations: ['bridges stdio servers'] }] } });
    assert.equal(created.isError ?? false, false, textOf(created));
    await client.close();
    const answer = pyCall('memory', 'read_graph', {});
    assert.equal(answer.isError, false);
    assert.match(answer.text, /bridges stdio servers/);
  });

  it('sequential-thinking: takes a thought and counts it, in its own session', async () => {
    const client = new Client({ name: 'thinking-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${mux.publicUrl}/thinking/mcp`)));
    const result = await client.callTool({ name: 'sequentialthinking', arguments: { thought: 'first', thoughtNumber: 1, totalThoughts: 2, nextThoughtNeeded: true } });
    assert.equal(JSON.parse(textOf(result)).thoughtHistoryLength, 1);
    await client.close();
  });

  it("echo and math: the seed's Python servers in stdio mode, through mcpmux on one port", async () => {
    const client = new Client({ name: 'echo-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${mux.publicUrl}/echo/mcp`)));
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'over stdio' } })), 'Echo: over stdio');
    await client.close();
    assert.equal(pyCall('echo', 'echo', { message: 'from python' }).text, 'Echo: from python');
    assert.equal(pyCall('math', 'add_two', { m: 2, n: 3 }).text, '5');
  });
});
