import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { CpuTotal, sampleProcessGroups } from '../../../src/supervisor/resources.js';
import { waitFor } from '../../helpers/wait.js';

describe('CpuTotal', () => {
  it('stays monotonic when processes come and go', () => {
    const total = new CpuTotal();
    assert.equal(total.update([{ pid: 1, rssBytes: 0, cpuSeconds: 2 }, { pid: 2, rssBytes: 0, cpuSeconds: 1 }]), 3);
    assert.equal(total.update([{ pid: 1, rssBytes: 0, cpuSeconds: 2.5 }]), 3.5, 'pid 2 ended: its 1 s stays counted');
    assert.equal(total.update([{ pid: 3, rssBytes: 0, cpuSeconds: 0.5 }]), 3.5 + 0.5, 'pid 1 ended at 2.5 s, a new process began');
    assert.equal(total.update([]), 4);
  });
});

describe('sampleProcessGroups', () => {
  it('finds every process of a group, with its memory', async () => {
    const leader = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    try {
      // Polled until the two sleeps have exec'd: mid-exec, a process can briefly show no memory.
      const group = await waitFor(() => {
        const found = sampleProcessGroups(new Set([leader.pid!])).get(leader.pid!) ?? [];
        return found.length === 3 && found.every((p) => p.rssBytes > 100_000) ? found : undefined;
      }, 'sh and its two sleeps, each with resident memory');
      assert.equal(group.length, 3);
    } finally {
      process.kill(-leader.pid!, 'SIGKILL');
    }
  });
});
