/** Probes as a child sees them. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fixtureServer, startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { waitFor } from '../helpers/wait.js';

describe('the mcp probe', () => {
  after(stopAll);

  it('ends every session it opens, so probing leaks nothing in the child', async () => {
    const mux = await startMcpmux({
      // A generous timeout: this is about sessions left open, not speed, and CI may be busy.
      servers: { state: fixtureServer('stateful', { livenessProbe: { mcp: {}, periodSeconds: 0.05, timeoutSeconds: 10 }, readinessProbe: { mcp: {}, periodSeconds: 0.05, timeoutSeconds: 10 } }) },
    });
    await mux.waitReady();
    const counts = () => mux.logs.filter((r) => r.server === 'state' && typeof r.msg === 'string' && r.msg.startsWith('sessions open: ')).map((r) => Number((r.msg as string).slice(15)));
    await waitFor(() => counts().filter((n) => n === 0).length >= 20, 'twenty sessions opened and closed again', 15_000);
    assert.ok(Math.max(...counts()) <= 2, `at most one session per probe role is open at a time, saw ${Math.max(...counts())}`);
    assert.equal((await mux.status()).servers[0]!.restarts, 0);
    assert.deepEqual(mux.logs.filter((r) => r.msg === 'probe failed' && r.kind === 'mcp'), []);
  });

  it('fails, within its timeout, against a child that hangs on ending the session', async () => {
    const mux = await startMcpmux({
      servers: { stuck: fixtureServer('mcp-hangs-on-delete', { livenessProbe: { mcp: {}, periodSeconds: 0.2, timeoutSeconds: 0.3, failureThreshold: 2 } }) },
    });
    const restarted = await waitFor(async () => {
      const s = (await mux.status()).servers[0]!;
      return s.restarts >= 1 ? s : undefined;
    }, 'liveness to restart the child', 10_000);
    assert.equal((restarted.lastExit as { reason: string }).reason, 'liveness-probe');
    const failures = mux.logs.filter((r) => r.msg === 'probe failed' && r.kind === 'mcp');
    // Bounded by the timeout, not by the child's hang (forever); the slack is for a busy CI machine.
    assert.ok(failures.every((r) => (r.durationMs as number) < 3000), `each probe ends near its 0.3 s timeout: ${failures.map((r) => Math.round(r.durationMs as number)).join(', ')} ms`);
  });
});
