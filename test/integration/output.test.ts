/** A child's output becomes log records, and a flood of it never blocks the child. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fixtureServer, startMcpmux, stopAll } from '../helpers/mcpmux.js';

describe('child output', () => {
  after(stopAll);

  it('logs each line with server and stream, and a child flooding its pipes still starts', async () => {
    const mux = await startMcpmux({ servers: { noisy: fixtureServer('noisy') } });
    await mux.waitReady(20_000);
    await mux.waitForLog((r) => r.server === 'noisy' && r.stream === 'stderr' && r.msg === 'noisy is listening', 'the listening line');
    const long = mux.logs.find((r) => r.server === 'noisy' && r.stream === 'stdout' && r.truncated === true);
    assert.ok(long, 'the 4 MiB line is logged, cut and marked truncated');
    assert.equal((long.msg as string).length, 16 * 1024);
    assert.ok(mux.logs.some((r) => r.server === 'noisy' && r.stream === 'stdout' && r.msg === 'stdout after the long line'));
    assert.ok(mux.logs.some((r) => r.server === 'noisy' && r.stream === 'stderr' && r.msg === 'noise line 19999'));
    assert.equal(await mux.stop(), 0);
  });
});
