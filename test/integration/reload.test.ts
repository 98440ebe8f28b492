/**
 * Reload on SIGHUP, under load: a server added, one removed, one's env changed (rolled onto a new
 * process), one's auth changed (at once, no process touched), while clients call every server;
 * and a config that is invalid, or changes a listener, changes nothing.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient, MCP_HEADERS, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll, writeConfig, type LogRecord, type Mcpmux } from '../helpers/mcpmux.js';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { makeTempDir, ROOT } from '../helpers/paths.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const TOKEN_A = 'reload-token-a-0123456789';
const TOKEN_B = 'reload-token-b-0123456789';
// Probed often, with room to answer on a loaded machine: three probes past a 1 s timeout in a row
// (the suite and the Node 24 suite side by side) made an untouched server unready, which is not
// what a reload does to it.
const echo = { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT, readinessProbe: { mcp: {}, periodSeconds: 0.2, timeoutSeconds: 5 } };

/** A loop of tool calls on one server until stopped: what each call came to. */
function callLoop(call: () => Promise<unknown>) {
  const outcomes: string[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        await call();
        outcomes.push('ok');
      } catch (error) {
        outcomes.push(`error: ${(error as Error).message}`);
      }
    }
  })();
  return {
    outcomes,
    failures: () => outcomes.filter((o) => o !== 'ok'),
    async stop() {
      running = false;
      await done;
    },
  };
}

describe('reload on SIGHUP', () => {
  let mux: Mcpmux;
  let file: string;
  const tokenFile = path.join(makeTempDir('mcpmux-reload-token-'), 'token');
  writeFileSync(tokenFile, `${TOKEN_A}\n`);
  const filed = { ...echo, auth: { bearerTokens: [{ file: tokenFile }] } };
  const servers = {
    math: echo,
    echo,
    locked: { ...echo, auth: { bearerTokens: [{ env: 'RELOAD_TOKEN_A' }] } },
    gone: echo,
    filed,
  };
  const next = {
    servers: {
      math: echo,
      echo: { ...echo, env: { ECHO_VERSION: '2' } },
      locked: { ...echo, auth: { bearerTokens: [{ env: 'RELOAD_TOKEN_A' }, { env: 'RELOAD_TOKEN_B' }] } },
      fresh: echo,
      filed,
    },
  };
  const pidOf = async (name: string) => (await mux.status()).servers.find((s) => s.name === name)?.pid;
  const reload = async (config: unknown) => {
    const from = mux.logs.length;
    writeFileSync(file, JSON.stringify(config));
    mux.proc.kill('SIGHUP');
    return mux.waitForLog((r) => mux.logs.indexOf(r) >= from && (r.msg === 'reload applied' || r.msg === 'reload: nothing changed' || r.msg === 'reload refused: nothing changed'), 'the reload to be done');
  };

  before(async () => {
    process.env.RELOAD_TOKEN_A = TOKEN_A;
    process.env.RELOAD_TOKEN_B = TOKEN_B;
    file = writeConfig({ servers });
    mux = await startMcpmux({ file });
    await mux.waitReady(30_000);
  });
  after(stopAll);

  it('applies adds, removals, env and auth changes under load: untouched servers keep their pid and lose no call', async () => {
    const before = { math: await pidOf('math'), echo: await pidOf('echo'), locked: await pidOf('locked') };
    const math = await connectClient(`${mux.publicUrl}/math/mcp`);
    const echoClient = await connectClient(`${mux.publicUrl}/echo/mcp`);
    const post = (path: string, token?: string) =>
      fetch(`${mux.publicUrl}${path}`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        // Without a session the child answers 400: past auth and routing, and it opens no session.
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    const goneStatuses: number[] = [];
    const loops = {
      math: callLoop(async () => assert.equal(textOf(await math.client.callTool({ name: 'echo', arguments: { message: 'm' } })), 'Echo: m')),
      echo: callLoop(async () => assert.equal(textOf(await echoClient.client.callTool({ name: 'echo', arguments: { message: 'e' } })), 'Echo: e')),
      locked: callLoop(async () => {
        const res = await post('/locked/mcp', TOKEN_A);
        await res.arrayBuffer();
        assert.equal(res.status, 400, 'past auth, the child answers');
      }),
      gone: callLoop(async () => {
        // Any answer is an outcome; a reset is a thrown error, which the loop counts as a failure.
        const res = await post('/gone/mcp');
        await res.arrayBuffer();
        goneStatuses.push(res.status);
      }),
    };
    await waitFor(() => Object.values(loops).every((l) => l.outcomes.length >= 5), 'calls on every server');

    await reload(next);
    // The new server serves; the changed one rolled onto a new process.
    await waitFor(async () => (await mux.status()).servers.find((s) => s.name === 'fresh')?.ready, 'fresh to be ready', 30_000);
    const fresh = await connectClient(`${mux.publicUrl}/fresh/mcp`);
    assert.equal(textOf(await fresh.client.callTool({ name: 'echo', arguments: { message: 'new' } })), 'Echo: new');
    await fresh.client.close();
    await mux.waitForLog((r) => r.msg === 'rollout finished: the new process serves' && r.server === 'echo', 'the echo rollout', 30_000);
    // The removed route answers 404 (after what was in flight when it went), never a reset.
    await waitFor(() => goneStatuses.filter((s) => s === 404).length >= 5, 'gone to answer 404');
    // Calls go on a while on the new table before the loops stop.
    const counts = Object.fromEntries(Object.entries(loops).map(([k, l]) => [k, l.outcomes.length]));
    await waitFor(() => Object.entries(loops).every(([k, l]) => l.outcomes.length >= counts[k]! + 5), 'more calls after the reload');
    for (const loop of Object.values(loops)) await loop.stop();

    assert.deepEqual(loops.math.failures(), [], 'math: untouched, no failed call');
    assert.deepEqual(loops.echo.failures(), [], 'echo: rolled, no failed call (its session stays on the old process)');
    assert.deepEqual(loops.locked.failures(), [], 'locked: a token added, the old one still works');
    assert.deepEqual(loops.gone.failures(), [], 'gone: answered, never reset');
    assert.deepEqual([...new Set(goneStatuses)].filter((s) => s !== 400 && s !== 404), [], "gone: the child's 400 before, 404 after");
    assert.equal(await pidOf('math'), before.math, 'math kept its process');
    assert.equal(await pidOf('locked'), before.locked, 'an auth change touches no process');
    assert.notEqual(await pidOf('echo'), before.echo, 'echo runs a new process');
    assert.equal((await post('/locked/mcp', TOKEN_B)).status, 400, 'the new token works at once');

    // The old echo process keeps the live session until it ends; then it drains and is gone.
    const status = (await mux.status()).servers.find((s) => s.name === 'echo') as unknown as { processes: { pid: number; role: string; sessions: number }[] };
    assert.deepEqual(status.processes.map((p) => [p.pid, p.role]), [[await pidOf('echo'), 'current'], [before.echo, 'draining']]);
    assert.equal(textOf(await echoClient.client.callTool({ name: 'echo', arguments: { message: 'still' } })), 'Echo: still');
    await echoClient.transport.terminateSession();
    await echoClient.client.close();
    await waitFor(() => !isAlive(before.echo!), 'the old echo process to be gone after its session ended', 15_000);
    await math.client.close();

    const records = mux.logs.filter((r: LogRecord) => typeof r.msg === 'string' && r.msg.startsWith('reload: ') && r.server !== undefined && r.trigger === 'SIGHUP');
    assert.deepEqual(records.map((r) => [r.server, r.action]).sort(), [['echo', 'rollout'], ['fresh', 'start'], ['gone', 'remove'], ['locked', 'update']], 'one record per server touched, none for the untouched');
    const metrics = await scrape(mux.adminUrl);
    assert.equal(sampleValue(metrics, 'mcpmux_config_last_reload_successful'), 1);
    assert.equal(sampleValue(metrics, 'mcpmux_rollouts_total', { server: 'echo', result: 'ok' }), 1);
  });

  it('reads a bearer-token file again: a rotated token works at once, the old one no longer, and no process is touched', async () => {
    const pid = await pidOf('filed');
    const call = async (token: string) => {
      const res = await fetch(`${mux.publicUrl}/filed/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await call(TOKEN_A), 400, 'past auth');
    writeFileSync(tokenFile, `${TOKEN_B}\n`);
    const record = await reload(next);
    assert.equal(record.msg, 'reload applied');
    assert.deepEqual([await call(TOKEN_B), await call(TOKEN_A)], [400, 401]);
    assert.equal(await pidOf('filed'), pid);
    const touched = mux.logs.filter((r) => r.msg === 'reload: route and policy changed, process kept' && r.server === 'filed');
    assert.deepEqual(touched.at(-1)?.fields, ['auth']);
  });

  it('changes nothing on a config that fails validation, logs every problem, and says so in the metrics', async () => {
    const pids = (await mux.status()).servers.map((s) => [s.name, s.pid]);
    const before = (await scrape(mux.adminUrl)).match(/mcpmux_config_last_reload_success_timestamp_seconds (\S+)/)?.[1];
    await reload({ servers: { math: { ...echo, port: 'any' }, echo: { args: ['x'] } } });
    const problems = mux.logs.filter((r) => typeof r.msg === 'string' && r.msg.startsWith('reload refused: servers.'));
    assert.deepEqual(problems.map((r) => r.path).sort(), ['servers.echo.command', 'servers.math.port']);
    const metrics = await scrape(mux.adminUrl);
    assert.equal(sampleValue(metrics, 'mcpmux_config_last_reload_successful'), 0);
    assert.equal(metrics.match(/mcpmux_config_last_reload_success_timestamp_seconds (\S+)/)?.[1], before);
    assert.deepEqual((await mux.status()).servers.map((s) => [s.name, s.pid]), pids);
  });

  it('refuses a change to a listener with a clear message, and changes nothing', async () => {
    const pids = (await mux.status()).servers.map((s) => [s.name, s.pid]);
    const record = await reload({ ...next, listen: { host: '127.0.0.2' } });
    assert.equal(record.msg, 'reload refused: nothing changed');
    const problems = mux.logs.filter((r) => r.msg === 'reload refused: listen.host: changing it needs a restart of mcpmux (its listener is bound); the reload changed nothing');
    assert.equal(problems.length, 1);
    assert.deepEqual((await mux.status()).servers.map((s) => [s.name, s.pid]), pids);
  });
});
