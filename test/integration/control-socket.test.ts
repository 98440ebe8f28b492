/**
 * The control socket cannot be impersonated. Another user's socket, or a symlink, at the path is
 * never taken over nor removed: mcpmux starts without a control socket and says why (a warning in
 * the log, `controlSocket` in /status, mcpmux_control_socket_listening 0), and `mcpmux reload` and
 * `mcpmux rollout` refuse to talk to it, naming its owner, before any connection. Nor does mcpmux
 * bind where others can write. By default it listens in a directory of its own, which the CLI finds.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { chmodSync, existsSync, lchownSync, lstatSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { scrape, sampleValue } from '../helpers/metrics.js';
import { startMcpmux, stopAll, type Mcpmux } from '../helpers/mcpmux.js';
import { MAIN, ROOT, fixture, makeTempDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const NOBODY = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
const NOBODY_GROUP = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
const asRoot = { skip: process.geteuid?.() !== 0 ? 'needs root, to act as nobody' : false };

const config = { listen: { host: '127.0.0.1' }, servers: { echo: { command: process.execPath, args: ['dist/servers/echo/main.js'], cwd: ROOT } } };

/** A directory anyone can write, sticky, as /tmp is. */
function stickyDir(): string {
  const dir = makeTempDir('mcpmux-sticky-');
  chmodSync(dir, 0o1777);
  return dir;
}

interface Impostor {
  readonly proc: ChildProcessByStdio<null, Readable, null>;
  /** Connections it accepted so far. */
  accepted(): number;
}

const impostors: Impostor[] = [];

/** A process of nobody's listening on `socketPath`, posing as mcpmux. */
async function startImpostor(socketPath: string): Promise<Impostor> {
  const proc = spawn(process.execPath, [fixture('impostor-socket')], { uid: NOBODY, gid: NOBODY_GROUP, env: { SOCKET_PATH: socketPath }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const impostor = { proc, accepted: () => output.split('\n').filter((line) => line.startsWith('accepted')).length };
  impostors.push(impostor);
  await waitFor(() => output.includes('listening'), 'the impostor to listen');
  assert.equal(lstatSync(socketPath).uid, NOBODY);
  return impostor;
}

/** The mcpmux CLI, as root runs it. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** The warning mcpmux logs when it starts without a control socket. */
function noSocketWarning(mux: Mcpmux) {
  return mux.waitForLog((r) => typeof r.msg === 'string' && r.msg.startsWith('no control socket: '), 'the no-control-socket warning');
}

/** What /status and the metrics say of the control socket. */
async function reported(mux: Mcpmux) {
  const status = await mux.status();
  const metric = sampleValue(await scrape(mux.adminUrl), 'mcpmux_control_socket_listening');
  return { status: status.controlSocket, metric };
}

describe('the control socket, against an impostor', asRoot, () => {
  after(async () => {
    for (const { proc } of impostors) proc.kill('SIGTERM');
    await stopAll();
  });

  it('leaves another user\'s socket alone, starts without one and says why; its CLI refuses to talk to it, naming its owner', async () => {
    const socket = path.join(stickyDir(), 'control.sock');
    const impostor = await startImpostor(socket);
    const mux = await startMcpmux(config, { controlSocket: socket });
    await mux.waitReady(30_000);
    const warning = await noSocketWarning(mux);
    const owned = new RegExp(`${socket.replaceAll('.', '\\.')} is a socket owned by nobody \\(uid ${NOBODY}\\), not by root \\(uid 0\\)`);
    assert.equal(warning.level, 'warn');
    assert.match(String(warning.reason), owned);
    const { status, metric } = await reported(mux);
    assert.equal(status?.path, socket);
    assert.equal(status?.listening, false);
    assert.match(status?.reason ?? '', owned);
    assert.equal(metric, 0);

    for (const args of [['reload'], ['rollout', 'echo']]) {
      const { code, stdout, stderr } = await cli([...args, '--control-socket', socket]);
      assert.equal(code, 1, args.join(' '));
      assert.equal(stdout, '', 'it claims nothing happened');
      assert.match(stderr, new RegExp(`^mcpmux: refusing to talk to the control socket ${socket.replaceAll('.', '\\.')}: ${owned.source}`));
    }
    assert.equal(impostor.accepted(), 0, 'no connection reached the impostor, neither from mcpmux nor from its CLI');
    assert.equal(lstatSync(socket).uid, NOBODY, 'the impostor\'s socket is still there');
  });

  it('never removes nor follows a dangling symlink of another user\'s at the path', async () => {
    const link = path.join(stickyDir(), 'control.sock');
    const target = path.join(stickyDir(), 'elsewhere.sock');
    symlinkSync(target, link);
    lchownSync(link, NOBODY, NOBODY_GROUP);
    const mux = await startMcpmux(config, { controlSocket: link });
    const warning = await noSocketWarning(mux);
    const symlink = new RegExp(`${link.replaceAll('.', '\\.')} is a symlink \\(to ${target.replaceAll('.', '\\.')}\\) owned by nobody \\(uid ${NOBODY}\\), not a socket`);
    assert.match(String(warning.reason), symlink);
    assert.deepEqual(await reported(mux).then(({ status, metric }) => [status?.listening, metric]), [false, 0]);

    // The link comes alive: nobody listens where it leads.
    const impostor = await startImpostor(target);
    const { code, stderr } = await cli(['reload', '--control-socket', link]);
    assert.equal(code, 1);
    assert.match(stderr, symlink);
    assert.equal(impostor.accepted(), 0, 'the CLI never connected');
    assert.equal(await mux.stop(), 0);
    assert.ok(lstatSync(link).isSymbolicLink(), 'the symlink is still there');
  });

  it('refuses to bind in a directory others can write that is not sticky', async () => {
    const dir = makeTempDir('mcpmux-open-');
    chmodSync(dir, 0o777);
    const socket = path.join(dir, 'control.sock');
    const mux = await startMcpmux(config, { controlSocket: socket });
    const warning = await noSocketWarning(mux);
    assert.match(String(warning.reason), new RegExp(`${dir} is writable by group and others and not sticky \\(mode 0777\\)`));
    assert.deepEqual(await reported(mux).then(({ status, metric }) => [status?.listening, metric]), [false, 0]);
    assert.equal(existsSync(socket), false, 'nothing was bound there');
  });
});

describe('the default control socket', () => {
  after(stopAll);

  it('listens in a directory of its own in $XDG_RUNTIME_DIR, made 0700, where the CLI finds it', async () => {
    const runtime = makeTempDir('mcpmux-runtime-');
    const mux = await startMcpmux(config, { controlSocket: null, env: { XDG_RUNTIME_DIR: runtime } });
    await mux.waitForLog((r) => r.msg === 'control socket listening', 'the control socket');
    const dir = path.join(runtime, 'mcpmux');
    assert.equal(mux.controlSocket, path.join(dir, 'control.sock'));
    assert.ok(lstatSync(dir).isDirectory());
    assert.equal(statSync(dir).mode & 0o7777, 0o700);
    assert.ok(lstatSync(mux.controlSocket).isSocket());
    assert.equal(statSync(mux.controlSocket).mode & 0o777, 0o600);
    assert.deepEqual(await reported(mux), { status: { path: mux.controlSocket, listening: true }, metric: 1 });

    const { code, stdout, stderr } = await cli(['reload'], { XDG_RUNTIME_DIR: runtime });
    assert.equal(stderr, '');
    assert.deepEqual([code, stdout], [0, 'reloaded\n']);
    await mux.waitForLog((r) => r.msg === 'reload: nothing changed' && r.trigger === 'control socket', 'the reload');
    assert.equal(await mux.stop(), 0);
    assert.equal(existsSync(mux.controlSocket), false, 'its socket is removed at stop');
  });
});
