/**
 * stdio children that misbehave: killed mid-call, garbage or a huge line on stdout, silence where
 * `initialize` should be answered, SIGTERM ignored. Each fault stays in its own session: the client
 * gets an error and then 404, the neighbours see nothing, and mcpmux and the bridge keep serving.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { fixture } from '../helpers/paths.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { descendantsOf } from '../helpers/procs.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const stdioServer = (name: string, extra: Record<string, unknown> = {}) => ({ transport: 'stdio', command: process.execPath, args: [fixture(name)], ...extra });

/** The session's next request: the SDK client reports the 404 as an error naming it. */
async function expectSessionGone(call: () => Promise<unknown>): Promise<void> {
  await assert.rejects(call, /404|Session not found/);
}

describe('stdio faults', () => {
  after(stopAll);

  it('a session process killed mid-call gives its client an error, then 404; a new session works; the neighbours see 0 errors', async () => {
    const mux = await startMcpmux({ servers: { tools: stdioServer('stdio-stateful') } });
    await mux.waitReady(30_000);
    const url = `${mux.publicUrl}/tools/mcp`;
    const neighbours = await Promise.all([1, 2, 3].map(() => connectClient(url)));
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const load = neighbours.map(async ({ client }, i) => {
      let expected = 0;
      while (running) {
        try {
          expected += i + 1;
          const total = textOf(await client.callTool({ name: 'add', arguments: { n: i + 1 } }));
          if (total === String(expected)) ok += 1;
          else failures.push(`neighbour ${i}: ${total}, expected ${expected}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    });
    await waitFor(() => ok >= 30, 'the neighbours to get going');

    const victim = await connectClient(url);
    const pid = Number(textOf(await victim.client.callTool({ name: 'pid', arguments: {} })));
    const okBefore = ok;
    await assert.rejects(victim.client.callTool({ name: 'crash', arguments: {} }), /process for this session ended \(exited with code 3\)/);
    await expectSessionGone(() => victim.client.listTools());
    assert.ok(!isAlive(pid) || (await waitFor(() => !isAlive(pid), 'the crashed process to be reaped')));

    const fresh = await connectClient(url);
    assert.equal(textOf(await fresh.client.callTool({ name: 'add', arguments: { n: 7 } })), '7');
    await waitFor(() => ok >= okBefore + 30, 'more neighbour calls after the crash');
    running = false;
    await Promise.all(load);
    assert.deepEqual(failures, []);

    const failed = await mux.waitForLog((r) => r.msg === 'session failed' && r.reason === 'process-exited', 'the failed session in the log');
    assert.equal(failed.pid, pid);
    assert.ok((failed.stderrTail as string[]).some((line) => line.includes(`stdio-stateful ${pid} up`)), JSON.stringify(failed.stderrTail));
    const server = (await mux.status()).servers[0]!;
    assert.equal(server.restarts, 0, 'the bridge itself never restarted');
    // The crash in /status and in the metrics.
    const status = (await fetch(`${mux.adminUrl}/status`).then((r) => r.json())) as { servers: { stdio: { sessionsEnded: Record<string, number> } }[] };
    assert.equal(status.servers[0]!.stdio.sessionsEnded['process-exited'], 1);
    assert.equal(sampleValue(await scrape(mux.adminUrl), 'mcpmux_stdio_sessions_ended_total', { server: 'tools', reason: 'process-exited' }), 1);
    await Promise.all([...neighbours, fresh].map(({ client }) => client.close()));
  });

  it('logs a line of garbage on stdout as output and keeps the session', async () => {
    const mux = await startMcpmux({ servers: { tools: stdioServer('stdio-stateful') } });
    await mux.waitReady(30_000);
    const { client } = await connectClient(`${mux.publicUrl}/tools/mcp`);
    assert.equal(textOf(await client.callTool({ name: 'garbage', arguments: {} })), 'ok');
    assert.equal(textOf(await client.callTool({ name: 'add', arguments: { n: 2 } })), '2');
    const record = await mux.waitForLog((r) => r.msg === 'stdout line is not a JSON-RPC message: ignored', 'the garbage line in the log');
    assert.equal(record.line, 'this is not JSON');
    assert.equal(record.level, 'warn');
    await client.close();
  });

  it('refuses a stdout line over maxMessageBytes: the session fails cleanly with an error, then 404', async () => {
    const mux = await startMcpmux({ servers: { tools: stdioServer('stdio-stateful', { stdio: { maxMessageBytes: 65_536 } }) } });
    await mux.waitReady(30_000);
    const { client } = await connectClient(`${mux.publicUrl}/tools/mcp`);
    assert.equal(textOf(await client.callTool({ name: 'huge', arguments: { bytes: 60_000 } })).length, 60_000);
    await assert.rejects(client.callTool({ name: 'huge', arguments: { bytes: 200_000 } }), /wrote a message over the size limit/);
    await expectSessionGone(() => client.listTools());
    const record = await mux.waitForLog((r) => r.msg === 'stdout message over the limit of 65536 bytes: the session fails', 'the refusal in the log');
    assert.equal(record.level, 'error');
    const again = await connectClient(`${mux.publicUrl}/tools/mcp`);
    assert.equal(textOf(await again.client.callTool({ name: 'add', arguments: { n: 1 } })), '1');
    await Promise.all([client.close(), again.client.close()]);
  });

  it('keeps a server whose processes never answer initialize unready (503), without piling up processes', async () => {
    const mux = await startMcpmux({
      servers: {
        silent: stdioServer('stdio-silent', { stdio: { initializeTimeoutSeconds: 0.5 } }),
        tools: stdioServer('stdio-tiny'),
      },
    });
    await waitFor(async () => (await mux.status()).servers.find((s) => s.name === 'tools')?.ready, 'the healthy neighbour to be ready', 30_000);
    await mux.waitForLog((r) => r.server === 'silent' && r.msg === 'readiness canary failed: retrying with backoff' && String(r.reason).includes('no answer in 0.5 s'), 'the canary to give up');
    const res = await fetch(`${mux.publicUrl}/silent/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    assert.equal(res.status, 503);
    const silent = (await mux.status()).servers.find((s) => s.name === 'silent')!;
    assert.equal(silent.ready, false);
    // The canary retries with backoff: at any moment the bridge holds the warm process and at most one canary
    // (besides its watchdog, an sh).
    for (let i = 0; i < 10; i++) {
      const processes = descendantsOf(silent.pid!).filter((p) => p.comm !== 'sh');
      assert.ok(processes.length <= 2, `${processes.length} processes under the silent server's bridge`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { client } = await connectClient(`${mux.publicUrl}/tools/mcp`);
    assert.match(textOf(await client.callTool({ name: 'add', arguments: { n: 1 } })), /^\d+:1$/);
    await client.close();
  });

  it('SIGKILLs a session process that ignores SIGTERM once the grace period is over', async () => {
    const mux = await startMcpmux({ servers: { stubborn: stdioServer('stdio-ignores-sigterm', { terminationGracePeriodSeconds: 2 }) } });
    await mux.waitReady(30_000);
    const { client, transport } = await connectClient(`${mux.publicUrl}/stubborn/mcp`);
    const pid = Number(textOf(await client.callTool({ name: 'pid', arguments: {} })));
    const deleted = performance.now();
    await transport.terminateSession();
    await mux.waitForLog((r) => r.server === 'stubborn' && r.pid === pid && r.msg === 'SIGTERM ignored', 'the process to get SIGTERM and ignore it');
    await waitFor(() => !isAlive(pid), 'the process to be SIGKILLed', 10_000);
    const took = performance.now() - deleted;
    // stdin closed (1 s), SIGTERM, then the session grace (2 s - 1.5 s margin), then SIGKILL.
    assert.ok(took >= 1400 && took < 5000, `gone ${took.toFixed(0)} ms after DELETE`);
    await client.close();
  });
});
