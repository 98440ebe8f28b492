/** Which control socket a command line means: --control-socket, else $MCPMUX_CONTROL_SOCKET, else the default of its user. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommand } from '../../src/cli.js';

describe('the control socket a command line means', () => {
  const host = { uid: 1000, tmpdir: '/tmp' };
  const cases: [string, string[], NodeJS.ProcessEnv, string, boolean][] = [
    ['--control-socket first', ['reload', '--control-socket', 'my.sock'], { MCPMUX_CONTROL_SOCKET: '/env.sock', XDG_RUNTIME_DIR: '/run/user/1000' }, '/srv/my.sock', false],
    ['then $MCPMUX_CONTROL_SOCKET', ['rollout', 'echo'], { MCPMUX_CONTROL_SOCKET: '/env.sock', XDG_RUNTIME_DIR: '/run/user/1000' }, '/env.sock', false],
    ['then the default, in $XDG_RUNTIME_DIR', [], { XDG_RUNTIME_DIR: '/run/user/1000' }, '/run/user/1000/mcpmux/control.sock', true],
    ['then the default of the user', [], {}, '/tmp/mcpmux-1000/control.sock', true],
    ['an empty $MCPMUX_CONTROL_SOCKET counts as unset', [], { MCPMUX_CONTROL_SOCKET: '' }, '/tmp/mcpmux-1000/control.sock', true],
  ];
  for (const [name, argv, env, socket, isDefault] of cases) {
    it(name, () => {
      const command = parseCommand(argv, env, '/srv', host);
      assert.deepEqual([command.controlSocket, command.controlSocketDefault], [socket, isDefault]);
    });
  }

  it('is /run/mcpmux/control.sock for root by default', () => {
    assert.equal(parseCommand([], {}, '/srv', { uid: 0, tmpdir: '/tmp' }).controlSocket, '/run/mcpmux/control.sock');
  });
});
