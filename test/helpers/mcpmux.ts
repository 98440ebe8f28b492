/**
 * Starts mcpmux as a user does: its bin, a config file, real signals. Ports are always 0:
 * the actual ones are read from the `listening` log records.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { defaultControlSocket } from '../../src/admin/control-path.js';
import { MAIN, ROOT, fixture as fixtureFile, makeTempDir } from './paths.js';
import { waitFor } from './wait.js';

export type LogRecord = Record<string, unknown> & { msg?: string; level?: string };

export interface Mcpmux {
  readonly proc: ChildProcessByStdio<null, Readable, Readable>;
  readonly publicUrl: string;
  readonly adminUrl: string;
  /** Its control socket, for `mcpmux rollout` and `mcpmux reload`. */
  readonly controlSocket: string;
  readonly logs: LogRecord[];
  readonly stderr: () => string;
  /** Resolves with the exit code (or signal name) once mcpmux has exited. */
  readonly exited: Promise<number | string>;
  waitForLog(predicate: (record: LogRecord) => boolean, what: string, timeoutMs?: number): Promise<LogRecord>;
  status(): Promise<StatusBody>;
  waitReady(timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface StatusBody {
  servers: { name: string; prefix: string; state: string; ready: boolean; pid: number | null; port: number | null; restarts: number; lastExit: unknown }[];
  controlSocket?: { path: string; listening: boolean; reason?: string };
}

const running = new Set<Mcpmux>();

/** Writes `config` (an object, written as JSON, which YAML reads too) to a temp file. */
export function writeConfig(config: unknown, name = 'mcpmux.json'): string {
  const dir = makeTempDir('mcpmux-test-');
  const file = path.join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

export interface StartOptions {
  /** A command line that runs mcpmux, e.g. `['unshare', '--pid', '--fork', 'tini', '--']`. */
  readonly wrapper?: readonly string[];
  /** The mcpmux command itself, instead of this node running dist/src/main.js. */
  readonly entrypoint?: readonly string[];
  /** Pass the config as $MCPMUX_CONFIG instead of --config. */
  readonly configInEnv?: boolean;
  /** More command-line words for mcpmux (e.g. --watch-config). */
  readonly args?: readonly string[];
  /**
   * Its --control-socket: by default one of its own in a fresh temp dir; `null` passes none, so
   * mcpmux picks its default (from `env`: $XDG_RUNTIME_DIR, …).
   */
  readonly controlSocket?: string | null;
  /** More environment for mcpmux. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The ports to listen on, known in advance: then nothing waits for the `listening` records, so
   * mcpmux may run at `--log-level warn` (args), which writes none. Wait for it with waitReady().
   */
  readonly ports?: { readonly public: number; readonly admin: number };
}

export async function startMcpmux(config: unknown | { file: string }, options: StartOptions = {}): Promise<Mcpmux> {
  const file = isFileRef(config) ? config.file : writeConfig(config);
  const configArgs = options.configInEnv ? [] : ['--config', file];
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, ...(options.configInEnv ? { MCPMUX_CONFIG: file } : {}) };
  // Each mcpmux its own control socket: tests run side by side.
  const controlSocket = options.controlSocket === null ? defaultControlSocket(env, process.geteuid!(), tmpdir()) : (options.controlSocket ?? path.join(makeTempDir('mcpmux-control-'), 'control.sock'));
  const socketArgs = options.controlSocket === null ? [] : ['--control-socket', controlSocket];
  const argv = [...(options.entrypoint ?? [process.execPath, MAIN]), ...configArgs, '--port', String(options.ports?.public ?? 0), '--admin-port', String(options.ports?.admin ?? 0), '--log-level', 'debug', ...socketArgs, ...(options.args ?? [])];
  const [command, ...args] = [...(options.wrapper ?? []), ...argv];
  const proc = spawn(command!, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogRecord[] = [];
  let stderrText = '';
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogRecord);
      } catch {
        logs.push({ msg: line, unparsed: true });
      }
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderrText += chunk));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));

  const waitForLog = (predicate: (record: LogRecord) => boolean, what: string, timeoutMs = 15_000) =>
    waitFor(() => logs.find(predicate), what, timeoutMs);
  const portOf = async (listener: 'public' | 'admin') => {
    if (options.ports) return options.ports[listener];
    const record = await Promise.race([
      waitForLog((r) => r.msg === 'listening' && r.listener === listener, `the ${listener} listener`),
      exited.then((code) => {
        throw new Error(`mcpmux exited with ${code} before listening:\n${stderrText}\n${JSON.stringify(logs.slice(-5))}`);
      }),
    ]);
    return record.port as number;
  };
  const publicUrl = `http://127.0.0.1:${await portOf('public')}`;
  const adminUrl = `http://127.0.0.1:${await portOf('admin')}`;

  const mux: Mcpmux = {
    proc,
    publicUrl,
    adminUrl,
    controlSocket,
    logs,
    stderr: () => stderrText,
    exited,
    waitForLog,
    async status() {
      const res = await fetch(`${adminUrl}/status`);
      return (await res.json()) as StatusBody;
    },
    async waitReady(timeoutMs = 15_000) {
      await waitFor(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, '/readyz to answer 200', timeoutMs);
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await exited;
      running.delete(mux);
      return code;
    },
  };
  running.add(mux);
  return mux;
}

/**
 * For after() hooks: stops whatever a test left running. A stop that hangs gets a second SIGTERM
 * (mcpmux's forced stop, which still kills every child's group) before SIGKILL, which would
 * leave the children behind.
 */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(async (mux) => {
    const force = setTimeout(() => mux.proc.kill('SIGTERM'), 15_000);
    const kill = setTimeout(() => mux.proc.kill('SIGKILL'), 20_000);
    await mux.stop();
    clearTimeout(force);
    clearTimeout(kill);
  }));
}

function isFileRef(value: unknown): value is { file: string } {
  return typeof value === 'object' && value !== null && 'file' in value && Object.keys(value).length === 1;
}

/** A server entry that runs one of test/fixtures/ with this very node. */
export function fixtureServer(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [fixtureFile(name)], ...extra };
}
