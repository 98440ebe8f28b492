/**
 * A rolling restart of one server (`mcpmux rollout NAME`, over the control socket) under load:
 * tool calls on 20 connections, a progress stream in flight and live sessions on the old process.
 * No call fails, the stream completes, old sessions stay on the old process until they end, new
 * ones land on the new process, and the old process is gone once drained. A fixed-port server
 * restarts in place.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { statSync, writeFileSync } from 'node:fs';
import { fixtureServer, startMcpmux, stopAll, writeConfig, type Mcpmux } from '../helpers/mcpmux.js';
import { MAIN, ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

interface ProcessInfo {
  pid: number;
  role: string;
  sessions: number;
}

describe('a rolling restart of one server', () => {
  let mux: Mcpmux;
  let fixedPort: number;
  let file: string;
  const config = (stateful: Record<string, unknown> = {}) => ({
    servers: {
      stateful: fixtureServer('stateful', { drainSeconds: 30, ...stateful }),
      pinned: { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT, port: fixedPort },
    },
  });
  before(async () => {
    fixedPort = await freePort();
    file = writeConfig(config());
    mux = await startMcpmux({ file });
    await mux.waitReady(30_000);
  });
  after(stopAll);

  const processes = async (name: string) => ((await mux.status()).servers.find((s) => s.name === name) as unknown as { processes: ProcessInfo[] }).processes;
  const rollout = (name: string) => run(process.execPath, [MAIN, 'rollout', name, '--control-socket', mux.controlSocket], { cwd: ROOT, timeout: 60_000 });
  /** The pid the access log says served the last tools/call of a session. */
  const pidOfSession = (session: string) =>
    mux.logs.filter((r) => r.msg === 'request' && r.server === 'stateful' && typeof r.session === 'string' && session.startsWith(r.session as string)).at(-1)?.pid;

  it('loses no call, completes the stream in flight, keeps old sessions on the old process and sends new ones to the new', async () => {
    const url = `${mux.publicUrl}/stateful/mcp`;
    const [old] = await processes('stateful');
    const failures: string[] = [];
    let calls = 0;
    let running = true;
    // Ten connections hold a session each through the rollout; ten open a new session per call.
    const held = await Promise.all(Array.from({ length: 10 }, () => connectClient(url)));
    const loops = [
      ...held.map(async ({ client }) => {
        while (running) {
          try {
            await client.callTool({ name: 'progress', arguments: { count: 1, intervalMs: 1 } });
            calls += 1;
          } catch (error) {
            failures.push(`held: ${(error as Error).message}`);
          }
        }
      }),
      ...Array.from({ length: 10 }, async () => {
        while (running) {
          try {
            const { client, transport } = await connectClient(url);
            await client.callTool({ name: 'progress', arguments: { count: 1, intervalMs: 1 } });
            await transport.terminateSession();
            await client.close();
            calls += 1;
          } catch (error) {
            failures.push(`fresh: ${(error as Error).message}`);
          }
        }
      }),
    ];
    // A stream in flight across the switch: 30 progress events over 3 s.
    const streamer = await connectClient(url);
    const progress: number[] = [];
    const stream = streamer.client.callTool({ name: 'progress', arguments: { count: 30, intervalMs: 100 } }, undefined, { onprogress: (p) => progress.push(p.progress), timeout: 30_000 });
    await waitFor(() => progress.length >= 3 && calls >= 40, 'the stream under way and calls flowing');

    const { stdout } = await rollout('stateful');
    const [current, ...others] = await processes('stateful');
    assert.match(stdout, new RegExp(`^stateful: rolled out; process ${current!.pid} serves, the old one drains`));
    assert.notEqual(current!.pid, old!.pid);
    assert.deepEqual(others.map((p) => [p.pid, p.role]), [[old!.pid, 'draining']], '/status shows both processes while the old one drains');

    const atSwitch = calls;
    await waitFor(() => calls >= atSwitch + 40, 'calls flowing after the switch');
    assert.equal(textOf(await stream), 'sent 30', 'the stream completes');
    assert.equal(progress.length, 30);

    // An old session still reaches the old process; a new one the new process.
    await held[0]!.client.callTool({ name: 'progress', arguments: { count: 1, intervalMs: 1 } });
    await waitFor(() => pidOfSession(held[0]!.transport.sessionId!) === old!.pid, 'the old session served by the old process');
    const late = await connectClient(url);
    await late.client.callTool({ name: 'progress', arguments: { count: 1, intervalMs: 1 } });
    await waitFor(() => pidOfSession(late.transport.sessionId!) === current!.pid, 'a new session served by the new process');

    running = false;
    await Promise.all(loops);
    assert.deepEqual(failures, [], 'no call failed');
    assert.ok(isAlive(old!.pid), 'the old process lives while its sessions do');
    for (const { client, transport } of [...held, streamer, late]) {
      await transport.terminateSession();
      await client.close();
    }
    await waitFor(() => !isAlive(old!.pid), 'the old process to be gone once its sessions ended', 15_000);
    await mux.waitForLog((r) => r.msg === 'process drained' && r.pid === old!.pid, 'the drain record');
    assert.deepEqual((await processes('stateful')).map((p) => p.pid), [current!.pid]);
  });

  it('restarts a fixed-port server in place: a new process on the same port', async () => {
    const [old] = await processes('pinned');
    const { stdout } = await rollout('pinned');
    const status = (await mux.status()).servers.find((s) => s.name === 'pinned')!;
    assert.match(stdout, /^pinned: rolled out/);
    assert.notEqual(status.pid, old!.pid);
    assert.equal(status.port, fixedPort);
    assert.equal(isAlive(old!.pid), false);
    const { client } = await connectClient(`${mux.publicUrl}/pinned/mcp`);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'again' } })), 'Echo: again');
    await client.close();
  });

  it('changes a route\'s upstreamTimeoutSeconds on reload without cutting the stream in flight or touching the process', async () => {
    const [process_] = await processes('stateful');
    const { client } = await connectClient(`${mux.publicUrl}/stateful/mcp`);
    const progress: number[] = [];
    const stream = client.callTool({ name: 'progress', arguments: { count: 20, intervalMs: 100 } }, undefined, { onprogress: (p) => progress.push(p.progress), timeout: 30_000 });
    await waitFor(() => progress.length >= 2, 'the stream under way');
    const from = mux.logs.length;
    writeFileSync(file, JSON.stringify(config({ upstreamTimeoutSeconds: 30 })));
    mux.proc.kill('SIGHUP');
    const record = await mux.waitForLog((r) => mux.logs.indexOf(r) >= from && r.msg === 'reload: route and policy changed, process kept', 'the reload');
    assert.deepEqual([record.server, record.fields], ['stateful', ['upstreamTimeoutSeconds']]);
    // A request after the reload takes the new timeout, while the stream keeps its connection.
    const other = await connectClient(`${mux.publicUrl}/stateful/mcp`);
    assert.equal(textOf(await other.client.callTool({ name: 'progress', arguments: { count: 1, intervalMs: 1 } })), 'sent 1');
    assert.ok(progress.length < 20, 'the reload and the new request came while the stream was in flight');
    assert.equal(textOf(await stream), 'sent 20');
    await other.transport.terminateSession();
    await other.client.close();
    assert.equal(progress.length, 20);
    // Not cut and resumed (the SDK would resume a cut stream from its event store): never cut.
    const cut = mux.logs.slice(from).filter((r) => r.msg === 'request' && r.server === 'stateful' && r.aborted === true);
    assert.deepEqual(cut, [], 'no response was cut');
    assert.equal((await processes('stateful'))[0]!.pid, process_!.pid);
    await client.close();
  });

  it('listens on a control socket only its own user can open', () => {
    assert.equal(statSync(mux.controlSocket).mode & 0o777, 0o600);
  });

  it('says so, and exits 1, for a server it does not know', async () => {
    const error = await rollout('nosuch').then(() => undefined, (e: { code: number; stderr: string }) => e);
    assert.equal(error?.code, 1);
    assert.equal(error?.stderr, 'nosuch: no server named nosuch\n');
  });
});
