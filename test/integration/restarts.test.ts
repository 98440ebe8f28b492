/** Restarts: crash loops with backoff, liveness, readiness that never restarts, restart policies. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixtureServer, startMcpmux, stopAll, type Mcpmux, type StatusBody } from '../helpers/mcpmux.js';
import { waitFor } from '../helpers/wait.js';

type ServerStatus = StatusBody['servers'][number] & { lastExit: { code: number | null; signal: string | null; reason: string; stderrTail: string[] } | null };

async function serverStatus(mux: Mcpmux, name: string): Promise<ServerStatus> {
  return (await mux.status()).servers.find((s) => s.name === name) as ServerStatus;
}

describe('restarts', () => {
  let mux: Mcpmux;
  before(async () => {
    mux = await startMcpmux({
      servers: {
        crashy: fixtureServer('exits-at-once', { backoff: { initialSeconds: 0.2, maxSeconds: 0.8 } }),
        hung: fixtureServer('hangs', {
          livenessProbe: { httpGet: { path: '/' }, periodSeconds: 0.2, timeoutSeconds: 0.2, failureThreshold: 2 },
          terminationGracePeriodSeconds: 1,
        }),
        unready: fixtureServer('never-ready', { readinessProbe: { httpGet: { path: '/' }, periodSeconds: 0.1 } }),
        silent: fixtureServer('sleeper', { startupProbe: { tcpSocket: {}, periodSeconds: 0.1, failureThreshold: 3 }, restartPolicy: 'Never' }),
        clean: { command: process.execPath, args: ['-e', 'process.exit(0)'], restartPolicy: 'OnFailure' },
        once: fixtureServer('exits-at-once', { restartPolicy: 'OnFailure', backoff: { initialSeconds: 30 } }),
        slow: fixtureServer('slow-start', { env: { START_DELAY_MS: '1000' }, livenessProbe: { tcpSocket: {}, periodSeconds: 0.1, failureThreshold: 1 } }),
        flaky: fixtureServer('flaky-ready', { readinessProbe: { httpGet: { path: '/ready' }, periodSeconds: 0.1, failureThreshold: 1 } }),
      },
    });
  });
  after(stopAll);

  it('spaces the restarts of a crash loop by backoff, and shows it in /status', async () => {
    const starts = await waitFor(() => {
      const found = mux.logs.filter((r) => r.server === 'crashy' && r.msg === 'process started');
      return found.length >= 6 ? found : undefined;
    }, 'six starts of the crashing server');
    const delays = mux.logs.filter((r) => r.server === 'crashy' && r.msg === 'restarting').map((r) => r.delayMs);
    assert.deepEqual(delays.slice(0, 5), [0, 200, 400, 800, 800], 'the first restart is immediate, then backoff');
    const times = starts.map((r) => Date.parse(r.time as string));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    gaps.forEach((gap, i) => assert.ok(gap >= (delays[i] as number) - 5, `start ${i + 2} came ${gap} ms after the one before, backoff ${delays[i]} ms`));

    const status = await waitFor(async () => {
      const s = await serverStatus(mux, 'crashy');
      return s.state === 'backoff' ? s : undefined;
    }, 'crashy in backoff');
    assert.ok(status.restarts >= 5);
    assert.equal(status.lastExit?.code, 3);
    assert.equal(status.lastExit?.reason, 'crashed');
    assert.deepEqual(status.lastExit?.stderrTail, ['boom: missing API key']);
    assert.equal((await fetch(`${mux.adminUrl}/healthz`)).status, 200);
    const readyz = await fetch(`${mux.adminUrl}/readyz`);
    assert.equal(readyz.status, 503);
    assert.match(await readyz.text(), /crashy/);
    const routed = await fetch(`${mux.publicUrl}/crashy/mcp`);
    assert.equal(routed.status, 503);
    assert.equal(routed.headers.get('retry-after'), '1');
  });

  it('restarts a hung child when liveness fails', async () => {
    const status = await waitFor(async () => {
      const s = await serverStatus(mux, 'hung');
      return s.restarts >= 1 && s.lastExit ? s : undefined;
    }, 'the hung server to be restarted', 15_000);
    assert.equal(status.lastExit?.reason, 'liveness-probe');
    assert.ok(mux.logs.some((r) => r.server === 'hung' && r.msg === 'probe failed' && r.probe === 'liveness' && r.result === 'timed out after 0.2s'));
  });

  it('never restarts a server whose readiness fails: the route is out, the process stays', async () => {
    const first = await serverStatus(mux, 'unready');
    await waitFor(() => mux.logs.filter((r) => r.server === 'unready' && r.probe === 'readiness').length >= 15, '15 failed readiness probes');
    const later = await serverStatus(mux, 'unready');
    assert.equal(later.pid, first.pid);
    assert.equal(later.restarts, 0);
    assert.equal(later.state, 'starting');
    assert.equal((await fetch(`${mux.publicUrl}/unready/`)).status, 503);
  });

  it('kills a process whose startup probe fails, and honours restartPolicy Never', async () => {
    const status = await waitFor(async () => {
      const s = await serverStatus(mux, 'silent');
      return s.state === 'failed' ? s : undefined;
    }, 'silent to fail its startup probe');
    assert.equal(status.lastExit?.reason, 'startup-probe');
    assert.equal(status.lastExit?.signal, 'SIGTERM');
    assert.equal(status.pid, null);
    assert.equal(status.restarts, 0);
  });

  it('leaves a clean exit stopped and restarts a failed one under OnFailure', async () => {
    const clean = await waitFor(async () => {
      const s = await serverStatus(mux, 'clean');
      return s.state === 'stopped' ? s : undefined;
    }, 'clean to be stopped');
    assert.equal(clean.lastExit?.code, 0);
    const once = await waitFor(async () => {
      const s = await serverStatus(mux, 'once');
      return s.state === 'backoff' ? s : undefined;
    }, 'once to back off');
    assert.equal(once.lastExit?.code, 3);
  });

  it('holds liveness off until the startup probe passes', async () => {
    const slow = await waitFor(async () => {
      const s = await serverStatus(mux, 'slow');
      return s.state === 'ready' ? s : undefined;
    }, 'the slow starter to be ready');
    assert.equal(slow.restarts, 0, 'a liveness probe during startup would have killed it');
  });

  it('takes a route out while readiness fails and puts it back when it passes, keeping the process', async () => {
    const ready = await waitFor(async () => {
      const s = await serverStatus(mux, 'flaky');
      return s.state === 'ready' ? s : undefined;
    }, 'flaky to be ready');
    assert.equal((await fetch(`${mux.publicUrl}/flaky/sick`, { method: 'POST' })).status, 200);
    await waitFor(async () => (await serverStatus(mux, 'flaky')).state === 'unready', 'flaky to turn unready');
    const out = await fetch(`${mux.publicUrl}/flaky/anything`);
    assert.equal(out.status, 503);
    assert.equal(out.headers.get('retry-after'), '1');
    assert.equal((await fetch(`http://127.0.0.1:${ready.port}/well`, { method: 'POST' })).status, 200);
    await waitFor(async () => (await fetch(`${mux.publicUrl}/flaky/anything`)).status === 200, 'the route to serve again');
    const after = await serverStatus(mux, 'flaky');
    assert.equal(after.pid, ready.pid);
    assert.equal(after.restarts, 0);
  });
});
