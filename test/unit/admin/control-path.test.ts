/**
 * Where the control socket lives and whether a path is safe for it: the default per user, and the
 * checks both sides make, on real directories chmod-ed and chown-ed to nobody, one case per rule.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  checkDirectories,
  checkSocketToConnect,
  claimSocketPath,
  defaultControlSocket,
  inspectSocketEntry,
  prepareOwnDirectory,
} from '../../../src/admin/control-path.js';
import { makeTempDir } from '../../helpers/paths.js';

const NOBODY = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
const asRoot = { skip: process.geteuid?.() !== 0 ? 'needs root, to chown to nobody' : false };

describe('the default control socket', () => {
  const cases: [string, NodeJS.ProcessEnv, number, string, string][] = [
    ['is in $XDG_RUNTIME_DIR when it is set', { XDG_RUNTIME_DIR: '/run/user/1000' }, 1000, '/tmp', '/run/user/1000/mcpmux/control.sock'],
    ['is in $XDG_RUNTIME_DIR for root too', { XDG_RUNTIME_DIR: '/run/user/0' }, 0, '/tmp', '/run/user/0/mcpmux/control.sock'],
    ['ignores an empty $XDG_RUNTIME_DIR', { XDG_RUNTIME_DIR: '' }, 1000, '/tmp', '/tmp/mcpmux-1000/control.sock'],
    ['ignores a relative $XDG_RUNTIME_DIR', { XDG_RUNTIME_DIR: 'run' }, 1000, '/tmp', '/tmp/mcpmux-1000/control.sock'],
    ['is in /run/mcpmux for root', {}, 0, '/tmp', '/run/mcpmux/control.sock'],
    ['is in a directory of its own per user under the temp dir otherwise', {}, 1000, '/tmp', '/tmp/mcpmux-1000/control.sock'],
    ['follows the temp dir', {}, 1234, '/var/tmp', '/var/tmp/mcpmux-1234/control.sock'],
  ];
  for (const [name, env, uid, tmpdir, expected] of cases) {
    it(name, () => assert.equal(defaultControlSocket(env, uid, tmpdir), expected));
  }
});

/** A fresh directory with `mode` (and `owner`) inside a root-owned 0700 temp dir. */
function dirWith(mode: number, owner = 0, parent = makeTempDir('mcpmux-path-')): string {
  const dir = path.join(parent, `d${mode.toString(8)}-${owner}`);
  mkdirSync(dir);
  chmodSync(dir, mode);
  chownSync(dir, owner, owner);
  return dir;
}

describe('the directories on the way to the control socket', asRoot, () => {
  const cases: [string, () => string, number, RegExp | 'ok' | 'missing'][] = [
    ['accepts a directory of root\'s, mode 0700', () => dirWith(0o700), 0, 'ok'],
    ['accepts a sticky directory anyone can write (as /tmp is)', () => dirWith(0o1777), 0, 'ok'],
    ['refuses a directory anyone can write that is not sticky', () => dirWith(0o777), 0, /d777-0 is writable by group and others and not sticky \(mode 0777\)$/],
    ['refuses a directory its group can write that is not sticky', () => dirWith(0o770), 0, /is writable by its group and not sticky \(mode 0770\)$/],
    ['refuses a directory of another user', () => dirWith(0o755, NOBODY), 0, /d755-\d+ is owned by nobody \(uid \d+\), not by root \(uid 0\)$/],
    ['accepts a directory of the user itself', () => dirWith(0o755, NOBODY), NOBODY, 'ok'],
    ['refuses a directory below one of another user', () => dirWith(0o700, 0, dirWith(0o755, NOBODY)), 0, /d755-\d+ is owned by nobody/],
    ['accepts a safe directory below one anyone can write (a Kubernetes emptyDir)', () => dirWith(0o700, 0, dirWith(0o777)), 0, 'ok'],
    ['refuses a symlink of another user on the way', () => {
      const link = path.join(dirWith(0o1777), 'link');
      symlinkSync(dirWith(0o700), link);
      lchownSync(link, NOBODY, NOBODY);
      return link;
    }, 0, /link is a symlink owned by nobody \(uid \d+\), not by root/],
    ['refuses a symlink of root\'s that leads to a directory of another user', () => {
      const link = path.join(dirWith(0o700), 'link');
      symlinkSync(dirWith(0o755, NOBODY), link);
      return link;
    }, 0, /d755-\d+ \(where .*link leads\) is owned by nobody/],
    ['accepts a symlink of root\'s to a safe directory', () => {
      const link = path.join(dirWith(0o700), 'link');
      symlinkSync(dirWith(0o700), link);
      return link;
    }, 0, 'ok'],
    ['says a missing directory is missing', () => path.join(dirWith(0o700), 'nothing'), 0, 'missing'],
  ];
  for (const [name, make, euid, expected] of cases) {
    it(name, () => {
      const verdict = checkDirectories(make(), euid);
      if (expected === 'ok') assert.deepEqual(verdict, { ok: true });
      else if (expected === 'missing') assert.equal(!verdict.ok && verdict.missing, true, JSON.stringify(verdict));
      else assert.match(verdict.ok ? 'ok' : verdict.reason, expected);
    });
  }
});

describe('mcpmux\'s own directory for the default socket', asRoot, () => {
  it('is made with mode 0700 when missing', () => {
    const dir = path.join(dirWith(0o1777), 'mcpmux');
    assert.deepEqual(prepareOwnDirectory(dir, 0), { ok: true });
    assert.equal(statSync(dir).mode & 0o7777, 0o700);
  });

  const cases: [string, (dir: string) => void, RegExp][] = [
    ['refuses one that is a symlink', (dir) => symlinkSync(dirWith(0o700), dir), /mcpmux is a symlink \(to .*\) owned by root \(uid 0\), not a directory of mcpmux's own$/],
    ['refuses one of another user', (dir) => {
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, NOBODY, NOBODY);
    }, /mcpmux is owned by nobody \(uid \d+\), not by root \(uid 0\)$/],
    ['refuses one others can write, sticky or not', (dir) => {
      mkdirSync(dir);
      chmodSync(dir, 0o1777);
    }, /mcpmux is writable by group and others \(mode 1777\); only its owner may write it$/],
    ['refuses a file in its place', (dir) => writeFileSync(dir, ''), /mcpmux is not a directory$/],
  ];
  for (const [name, plant, expected] of cases) {
    it(name, () => {
      const dir = path.join(dirWith(0o1777), 'mcpmux');
      plant(dir);
      const verdict = prepareOwnDirectory(dir, 0);
      assert.match(verdict.ok ? 'ok' : verdict.reason, expected);
    });
  }

  it('is made in a directory others can write that is not sticky, as a Kubernetes emptyDir is (the chart\'s /tmp): its own mode keeps them out', () => {
    const dir = path.join(dirWith(0o777), 'mcpmux');
    assert.deepEqual(prepareOwnDirectory(dir, 0), { ok: true });
    assert.equal(statSync(dir).mode & 0o7777, 0o700);
  });

  it('is refused when another user made it first in such a directory', () => {
    const dir = path.join(dirWith(0o777), 'mcpmux');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, NOBODY, NOBODY);
    assert.match((prepareOwnDirectory(dir, 0) as { reason: string }).reason, /owned by nobody/);
  });
});

/** Sockets left by a process that was SIGKILLed (stale: nothing listens), and live ones, ended after the tests. */
const listeners: net.Server[] = [];
async function staleSocket(at: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(at)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(lstatSync(at).isSocket());
}
async function liveSocket(at: string): Promise<void> {
  const server = net.createServer((socket) => socket.destroy());
  listeners.push(server);
  await new Promise<void>((resolve) => server.listen(at, resolve));
}

describe('what is at the socket path', asRoot, () => {
  after(() => {
    for (const server of listeners) server.close();
  });
  type Plant = (at: string) => void | Promise<void>;
  const cases: [string, Plant, RegExp | 'absent' | 'own-socket'][] = [
    ['nothing', () => undefined, 'absent'],
    ['a socket of our own', (at) => liveSocket(at), 'own-socket'],
    ['a socket of another user', async (at) => {
      await liveSocket(at);
      chownSync(at, NOBODY, NOBODY);
    }, /control\.sock is a socket owned by nobody \(uid \d+\), not by root \(uid 0\)$/],
    ['a dangling symlink of another user', (at) => {
      symlinkSync('/nonexistent/mcpmux.sock', at);
      lchownSync(at, NOBODY, NOBODY);
    }, /control\.sock is a symlink \(to \/nonexistent\/mcpmux\.sock\) owned by nobody \(uid \d+\), not a socket$/],
    ['a symlink of our own to a socket of our own', async (at) => {
      await liveSocket(`${at}.real`);
      symlinkSync(`${at}.real`, at);
    }, /is a symlink \(to .*control\.sock\.real\) owned by root \(uid 0\), not a socket$/],
    ['a regular file', (at) => writeFileSync(at, ''), /control\.sock is not a socket but a regular file, owned by root \(uid 0\)$/],
  ];
  for (const [name, plant, expected] of cases) {
    it(`sees ${name}`, async () => {
      const at = path.join(dirWith(0o1777), 'control.sock');
      await plant(at);
      const entry = inspectSocketEntry(at, 0);
      if (typeof expected === 'string') assert.equal(entry.kind, expected);
      else assert.match(entry.kind === 'foreign' ? entry.reason : entry.kind, expected);
    });
  }
});

describe('claiming the socket path (mcpmux) and connecting to it (the CLI)', asRoot, () => {
  after(() => {
    for (const server of listeners) server.close();
  });

  it('replaces a stale socket of its own', async () => {
    const at = path.join(dirWith(0o700), 'control.sock');
    await staleSocket(at);
    assert.deepEqual(await claimSocketPath(at, 0, { ownDirectory: false }), { ok: true });
    assert.equal(existsSync(at), false, 'removed, to be bound again');
  });

  it('leaves a live socket of its own alone (another mcpmux)', async () => {
    const at = path.join(dirWith(0o700), 'control.sock');
    await liveSocket(at);
    const verdict = await claimSocketPath(at, 0, { ownDirectory: false });
    assert.match((verdict as { reason: string }).reason, /another process of root \(uid 0\) \(another mcpmux\?\) listens on .*control\.sock/);
    assert.ok(lstatSync(at).isSocket());
  });

  const foreign: [string, (at: string) => void | Promise<void>][] = [
    ['a socket of another user, stale', async (at) => {
      await staleSocket(at);
      chownSync(at, NOBODY, NOBODY);
    }],
    ['a dangling symlink', (at) => {
      symlinkSync('/nonexistent/x.sock', at);
      lchownSync(at, NOBODY, NOBODY);
    }],
    ['a regular file of its own', (at) => writeFileSync(at, 'keep me')],
  ];
  for (const [name, plant] of foreign) {
    it(`never removes nor binds over ${name}`, async () => {
      const at = path.join(dirWith(0o1777), 'control.sock');
      await plant(at);
      const before = lstatSync(at);
      const verdict = await claimSocketPath(at, 0, { ownDirectory: false });
      assert.equal(verdict.ok, false);
      assert.equal(lstatSync(at).ino, before.ino, 'still there');
    });
  }

  it('refuses a stale socket of its own in a directory others can write that is not sticky', async () => {
    const at = path.join(dirWith(0o777), 'control.sock');
    await staleSocket(at);
    assert.match((await claimSocketPath(at, 0, { ownDirectory: false }) as { reason: string }).reason, /not sticky/);
    assert.ok(lstatSync(at).isSocket(), 'not removed');
  });

  it('makes its own directory for the default socket', async () => {
    const at = path.join(dirWith(0o1777), 'mcpmux', 'control.sock');
    assert.deepEqual(await claimSocketPath(at, 0, { ownDirectory: true }), { ok: true });
    assert.equal(statSync(path.dirname(at)).mode & 0o7777, 0o700);
  });

  const connect: [string, (at: string) => void | Promise<void>, number, RegExp | 'ok' | 'missing'][] = [
    ['talks to a socket of its own user', (at) => liveSocket(at), 0o700, 'ok'],
    ['says nothing is there when nothing is', () => undefined, 0o700, 'missing'],
    ['refuses a socket of another user, naming it and its owner', async (at) => {
      await liveSocket(at);
      chownSync(at, NOBODY, NOBODY);
    }, 0o1777, /^\/.*control\.sock is a socket owned by nobody \(uid \d+\), not by root \(uid 0\)$/],
    ['refuses a symlink, even to a socket of its own', async (at) => {
      await liveSocket(`${at}.real`);
      symlinkSync(`${at}.real`, at);
    }, 0o700, /is a symlink/],
    ['refuses a socket of its own in a directory others can write that is not sticky', (at) => liveSocket(at), 0o777, /not sticky/],
  ];
  for (const [name, plant, mode, expected] of connect) {
    it(name, async () => {
      const at = path.join(dirWith(mode), 'control.sock');
      await plant(at);
      const verdict = checkSocketToConnect(at, 0);
      if (expected === 'ok') assert.deepEqual(verdict, { ok: true });
      else if (expected === 'missing') assert.equal(!verdict.ok && verdict.missing, true);
      else assert.match(verdict.ok ? 'ok' : verdict.reason, expected);
    });
  }
});
