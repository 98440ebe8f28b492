/**
 * A stdio server in shared mode: one process for every session, initialized once by the bridge.
 * Request ids and progress tokens collide across SDK clients by construction (each counts from
 * 0), so every answer and every progress notification reaching its own caller proves the rewriting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { fixture } from '../helpers/paths.js';
import { descendantsOf } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

async function connectAs(url: string, name: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({ model: 'test', role: 'assistant', content: { type: 'text', text: `sampled by ${name}` } }));
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

describe('a stdio server in shared mode', () => {
  let mux: Mcpmux;
  let url: string;
  before(async () => {
    mux = await startMcpmux({ servers: { shared: { transport: 'stdio', command: process.execPath, args: [fixture('stdio-stateful')], stdio: { sessions: 'shared' } } } });
    await mux.waitReady(30_000);
    url = `${mux.publicUrl}/shared/mcp`;
  });
  after(stopAll);

  it('serves every session from one process, initialized once', async () => {
    const sessions = await Promise.all(['a', 'b', 'c'].map((name) => connectAs(url, name)));
    const pids = await Promise.all(sessions.map(({ client }) => client.callTool({ name: 'pid', arguments: {} }).then(textOf)));
    assert.equal(new Set(pids).size, 1);
    assert.deepEqual(sessions.map(({ client }) => client.getServerVersion()?.name), ['stdio-stateful', 'stdio-stateful', 'stdio-stateful']);
    const bridge = (await mux.status()).servers[0]!.pid!;
    assert.deepEqual(descendantsOf(bridge).filter((p) => p.comm !== 'sh').map((p) => p.pid), [Number(pids[0])]);
    const ups = mux.logs.filter((r) => r.server === 'shared' && String(r.msg).startsWith('stdio-stateful '));
    assert.equal(ups.length, 1, 'the process started once');
    await Promise.all(sessions.map(({ client }) => client.close()));
  });

  it('gives every concurrent caller its own answer and its own progress, though their ids and tokens collide', async () => {
    const sessions = await Promise.all([0, 1, 2, 3, 4].map((i) => connectAs(url, `s${i}`)));
    const wrong: string[] = [];
    await Promise.all(sessions.map(async ({ client }, i) => {
      for (let round = 0; round < 30; round++) {
        const bytes = 1000 + i * 100 + round;
        const got = textOf(await client.callTool({ name: 'huge', arguments: { bytes } })).length;
        if (got !== bytes) wrong.push(`session ${i} round ${round}: ${got} bytes, asked ${bytes}`);
      }
    }));
    assert.deepEqual(wrong, []);
    const progress = await Promise.all(sessions.slice(0, 3).map(async ({ client }, i) => {
      const seen: number[] = [];
      const result = await client.callTool({ name: 'progress', arguments: { count: 3 + i, intervalMs: 40 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
      return { text: textOf(result), seen };
    }));
    assert.deepEqual(progress, [
      { text: 'sent 3', seen: [1, 2, 3] },
      { text: 'sent 4', seen: [1, 2, 3, 4] },
      { text: 'sent 5', seen: [1, 2, 3, 4, 5] },
    ]);
    await Promise.all(sessions.map(({ client }) => client.close()));
  });

  it('sends a server-to-client request to the one session with requests in flight, and refuses it with an error when there are several', async () => {
    const [alice, bob] = await Promise.all([connectAs(url, 'alice'), connectAs(url, 'bob')]);
    assert.equal(textOf(await alice.client.callTool({ name: 'sample', arguments: { prompt: 'hi' } })), 'sampled by alice');
    let bobInFlight: () => void = () => undefined;
    const bobStarted = new Promise<void>((resolve) => (bobInFlight = resolve));
    const busy = bob.client.callTool({ name: 'progress', arguments: { count: 5, intervalMs: 100 } }, undefined, { onprogress: () => bobInFlight() });
    await bobStarted; // bob's request is at the process: two sessions have requests in flight
    const refused = await alice.client.callTool({ name: 'sample', arguments: { prompt: 'hi' } });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /cannot be attributed to one client session \(2 have requests in flight\)/);
    assert.equal(textOf(await busy), 'sent 5');
    await Promise.all([alice.client.close(), bob.client.close()]);
  });

  it('fails every session when the shared process ends, and serves new sessions once mcpmux has restarted the bridge', async () => {
    const [victim, bystander] = await Promise.all([connectAs(url, 'victim'), connectAs(url, 'bystander')]);
    const waiting = bystander.client.callTool({ name: 'progress', arguments: { count: 50, intervalMs: 100 } }).then(() => 'answered', (error: Error) => error.message);
    await assert.rejects(victim.client.callTool({ name: 'crash', arguments: {} }), /shared process ended \(exited with code 3\)/);
    assert.match(await waiting, /shared process ended/);
    await waitFor(async () => {
      const server = (await mux.status()).servers[0]!;
      return server.ready && server.restarts === 1;
    }, 'the bridge to be restarted and ready', 20_000);
    await assert.rejects(bystander.client.listTools(), /404|Session not found/);
    const fresh = await connectAs(url, 'fresh');
    assert.equal(textOf(await fresh.client.callTool({ name: 'add', arguments: { n: 5 } })), '5');
    await Promise.all([victim.client.close(), bystander.client.close(), fresh.client.close()]);
  });
});

describe("a shared process's log messages", () => {
  after(stopAll);

  it("go to the one session whose call is in flight, never to another session's stream; the server's own go to every stream", async () => {
    const mux = await startMcpmux({ servers: { raw: { transport: 'stdio', command: process.execPath, args: [fixture('stdio-raw')], stdio: { sessions: 'shared' } } } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/raw/mcp`;
    const seen = { a: [] as string[], b: [] as string[] };
    const listen = async (name: 'a' | 'b') => {
      const session = await connectAs(url, name);
      session.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen[name].push(String(n.params.data)));
      return session;
    };
    const [a, b] = await Promise.all([listen('a'), listen('b')]);
    assert.equal(textOf(await a.client.callTool({ name: 'log', arguments: { text: 'what a told its tool' } })), 'logged');
    assert.deepEqual(seen.a, ['what a told its tool']);
    // A log message with no call in flight is the server's own: every GET stream gets it, b's too,
    // after anything sent before it on that stream.
    await a.client.callTool({ name: 'flood', arguments: { seconds: 0.05 } });
    await waitFor(() => seen.b.length > 0, "the server's own log messages on b's stream");
    assert.ok(seen.b.every((text) => text.startsWith('flood ')), JSON.stringify(seen.b.slice(0, 3)));
    await Promise.all([a.client.close(), b.client.close()]);
  });
});
