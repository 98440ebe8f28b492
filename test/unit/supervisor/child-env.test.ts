import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildChildEnv } from '../../../src/supervisor/child-env.js';

describe('a child process environment', () => {
  const parent = { PATH: '/bin', HOME: '/root', SECRET: 'mcpmux only' };
  it('inherits only the allow-listed variables, and gets PORT and HOST', () => {
    assert.deepEqual(buildChildEnv({ inheritEnv: ['PATH', 'LANG'], env: {} }, 4242, parent), { PATH: '/bin', PORT: '4242', HOST: '127.0.0.1' });
  });
  it('lets its own env override, with {{port}} rendered', () => {
    assert.deepEqual(buildChildEnv({ inheritEnv: ['HOME'], env: { HOST: '0.0.0.0', URL: 'http://x:{{port}}/' } }, 9, parent), { HOME: '/root', PORT: '9', HOST: '0.0.0.0', URL: 'http://x:9/' });
  });
});
