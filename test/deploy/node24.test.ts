/**
 * The image runs Node 24: the end-to-end tests run again under Node 24 (mcpmux, its children and
 * the test clients alike), as they run under this machine's Node in the rest of the suite.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ensureNode24 } from '../helpers/node24.js';
import { ROOT } from '../helpers/paths.js';

describe('under Node 24', () => {
  it('passes every end-to-end test', { timeout: 600_000 }, async (t) => {
    const node24 = ensureNode24();
    const files = ['integration', 'security'].flatMap((name) => {
      const folder = path.join(ROOT, 'dist/test', name);
      // stdio-load (1,000 sessions, 100 at once: a minute of both cores) runs under this machine's
      // Node only; every other stdio test runs under both.
      return readdirSync(folder).filter((f) => f.endsWith('.test.js') && f !== 'stdio-load.test.js').sort().map((f) => path.join(folder, f));
    });
    // A test file runs in a child of node's test runner, marked by NODE_TEST_CONTEXT; the inner
    // runner must not think it is one.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(node24, ['--test', '--test-reporter=tap', '--test-concurrency=2', ...files], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    // A run that hangs is stopped before this test's own timeout, so that its output says where.
    const watchdog = setTimeout(() => {
      output += '\nnot ok - the Node 24 run did not finish within 540 s and was stopped; the last lines it printed:\n' + output.split('\n').slice(-40).join('\n');
      child.kill('SIGTERM');
    }, 540_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(watchdog);
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1]);
    t.diagnostic(`Node 24 run: ${count('pass')} passed, ${count('fail')} failed`);
    const lines = output.split('\n');
    const failures = lines.filter((line) => /^\s*not ok /.test(line));
    // Each failing test with the lines after it (its error), not the tail of a long run.
    const details = lines.flatMap((line, i) => (/^\s*not ok /.test(line) ? lines.slice(i, i + 25) : [])).join('\n');
    assert.deepEqual(failures, [], details);
    assert.equal(code, 0);
    assert.ok(count('pass') > 50, `the end-to-end tests ran (${count('pass')} passed)`);
  });
});
