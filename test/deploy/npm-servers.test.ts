/**
 * deploy/examples/npm-servers.yaml as a user runs it: two third-party servers fetched by npx from
 * the npm registry (the MCP reference server and Context7), each behind its own prefix, called
 * with the SDK client. The first run on a machine downloads them (~9 s measured with an empty
 * npm cache); later runs start from the cache.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { ROOT } from '../helpers/paths.js';
import { descendantsOf } from '../helpers/procs.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const EXAMPLE = path.join(ROOT, 'deploy/examples/npm-servers.yaml');

describe('the npm servers example', () => {
  let mux: Mcpmux;
  before(async () => {
    mux = await startMcpmux({ file: EXAMPLE });
    // The example's startup probes allow 120 s for npx to download.
    await mux.waitReady(150_000);
  });
  after(stopAll);

  it('serves the reference server on /everything/mcp: tools listed and called', async () => {
    const { client } = await connectClient(`${mux.publicUrl}/everything/mcp`);
    const { tools } = await client.listTools();
    assert.ok(tools.some((tool) => tool.name === 'echo'), tools.map((tool) => tool.name).join(', '));
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'from npm' } })), 'Echo: from npm');
    await client.close();
  });

  it("passes the reference server's progress notifications through as they happen", async () => {
    const { client } = await connectClient(`${mux.publicUrl}/everything/mcp`);
    const started = performance.now();
    const progress: { at: number; progress: number }[] = [];
    const result = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 4 } }, undefined, {
      onprogress: ({ progress: step }) => progress.push({ at: performance.now() - started, progress: step }),
    });
    const doneAt = performance.now() - started;
    await client.close();
    assert.match(textOf(result), /Long running operation completed/);
    assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3, 4]);
    // The server sends a step every 250 ms: a proxy that held the stream back would deliver them together, at the end.
    assert.ok(progress[0]!.at < doneAt - 500, `the first step came at ${progress[0]!.at.toFixed(0)} ms, the result at ${doneAt.toFixed(0)} ms`);
    assert.ok(progress[3]!.at - progress[0]!.at > 500, `steps spread over ${(progress[3]!.at - progress[0]!.at).toFixed(0)} ms`);
  });

  it("serves Context7 on /context7/mcp: its tools listed (calling them needs Context7's API on the internet)", async () => {
    const { client } = await connectClient(`${mux.publicUrl}/context7/mcp`);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), ['query-docs', 'resolve-library-id']);
    await client.close();
  });

  it('stops with no npx, shell or node process left behind', async () => {
    const pids = (await mux.status()).servers.map((server) => server.pid!);
    assert.equal(pids.length, 2);
    const tree = [...pids, ...pids.flatMap((pid) => descendantsOf(pid).map((proc) => proc.pid))];
    assert.equal(await mux.stop(), 0);
    await waitFor(() => tree.every((pid) => !isAlive(pid)), `every process of the two servers to be gone: ${tree.join(', ')}`);
  });
});
