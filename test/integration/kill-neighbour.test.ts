/** kill -9 of one child while its neighbour is under load: the neighbour never notices. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectClient, textOf } from '../helpers/mcp-client.js';
import { startMcpmux, stopAll } from '../helpers/mcpmux.js';
import { DEFAULT_CONFIG } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

describe('kill -9 of one child', () => {
  after(stopAll);

  it('leaves the neighbour with zero failed calls, and the killed server serves again', async (t) => {
    const mux = await startMcpmux({ file: DEFAULT_CONFIG });
    await mux.waitReady();
    const echoBefore = (await mux.status()).servers.find((s) => s.name === 'echo')!;

    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const load = Array.from({ length: 4 }, async (_, worker) => {
      const { client } = await connectClient(`${mux.publicUrl}/math/mcp`, `load-${worker}`);
      while (running) {
        const n = ok;
        try {
          const result = await client.callTool({ name: 'add_two', arguments: { m: worker, n } });
          if (textOf(result) === String(worker + n)) ok += 1;
          else failures.push(`wrong answer ${textOf(result)}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      await client.close();
    });
    await waitFor(() => ok >= 50, 'the load to get going');

    const killedAt = performance.now();
    process.kill(echoBefore.pid!, 'SIGKILL');
    await waitFor(async () => {
      const { client } = await connectClient(`${mux.publicUrl}/echo/mcp`);
      const text = textOf(await client.callTool({ name: 'echo', arguments: { message: 'back' } }));
      await client.close();
      return text === 'Echo: back';
    }, 'echo to serve again', 15_000, 10);
    const recoveredMs = performance.now() - killedAt;
    const okAtRecovery = ok;
    await waitFor(() => ok >= okAtRecovery + 50, 'more load after the recovery');
    running = false;
    await Promise.all(load);

    t.diagnostic(`kill -9 to serving again: ${recoveredMs.toFixed(0)} ms; neighbour calls: ${ok} ok, ${failures.length} failed`);
    assert.deepEqual(failures, [], 'the neighbour sees zero failed calls');
    const echoAfter = (await mux.status()).servers.find((s) => s.name === 'echo')!;
    assert.notEqual(echoAfter.pid, echoBefore.pid);
    assert.equal(echoAfter.restarts, 1);
    assert.deepEqual(echoAfter.lastExit && { signal: (echoAfter.lastExit as { signal: string }).signal }, { signal: 'SIGKILL' });
    assert.equal(await mux.stop(), 0);
  });
});
