/** Every example config shipped in deploy/ passes `mcpmux check`, and a test runs each one. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MAIN, ROOT } from '../helpers/paths.js';

const configs = [
  ...readdirSync(path.join(ROOT, 'deploy/examples')).filter((f) => f.endsWith('.yaml')).map((f) => `deploy/examples/${f}`),
  'deploy/docker/mcpmux.yaml',
];

describe('the example configs', () => {
  it('are all there', () => {
    assert.deepEqual(configs.sort(), ['deploy/docker/mcpmux.yaml', 'deploy/examples/default.yaml', 'deploy/examples/npm-servers.yaml', 'deploy/examples/python-fastapi.yaml', 'deploy/examples/python-fastmcp.yaml', 'deploy/examples/seed.yaml', 'deploy/examples/stdio.yaml']);
  });
  for (const config of configs) {
    it(`${config} passes mcpmux check`, () => {
      const result = spawnSync(process.execPath, [MAIN, 'check', '--config', path.join(ROOT, config)], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /config is valid/);
    });
  }

  it('are each run by a test, and each Python file by an example', () => {
    const tests = testSources().filter((file) => !file.endsWith('examples.test.ts')).map((file) => readFileSync(file, 'utf8'));
    const unrun = configs.filter((config) => !tests.some((source) => source.includes(path.basename(config))));
    assert.deepEqual(unrun, [], 'no test names these configs');
    const examples = configs.map((config) => readFileSync(path.join(ROOT, config), 'utf8'));
    const scripts = readdirSync(path.join(ROOT, 'deploy/examples/python')).filter((f) => f.endsWith('.py'));
    const unused = scripts.filter((script) => !examples.some((example) => example.includes(script.replace(/\.py$/, ''))));
    assert.deepEqual(unused, [], 'no example config runs these scripts');
  });
});

function testSources(dir = path.join(ROOT, 'test')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testSources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}
