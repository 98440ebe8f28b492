/** Every example config shipped in deploy/ passes `mcpmux check`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MAIN, ROOT } from '../helpers/paths.js';

const configs = [
  ...readdirSync(path.join(ROOT, 'deploy/examples')).filter((f) => f.endsWith('.yaml')).map((f) => `deploy/examples/${f}`),
  'deploy/docker/mcpmux.yaml',
];

describe('the example configs', () => {
  it('are all there', () => {
    assert.deepEqual(configs.sort(), ['deploy/docker/mcpmux.yaml', 'deploy/examples/default.yaml', 'deploy/examples/npm-servers.yaml', 'deploy/examples/python-fastmcp.yaml', 'deploy/examples/seed.yaml']);
  });
  for (const config of configs) {
    it(`${config} passes mcpmux check`, () => {
      const result = spawnSync(process.execPath, [MAIN, 'check', '--config', path.join(ROOT, config)], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /config is valid/);
    });
  }
});
