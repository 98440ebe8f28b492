/**
 * With watchdog.ts, the only file that starts processes (and imports execa). A child runs without
 * a shell, as the leader of its own process group (and session), with its output read line by
 * line and never left to fill a pipe. Its group is registered with the watchdog from its spawn
 * until it is gone, so it does not outlive mcpmux even when mcpmux is SIGKILLed.
 */
import type { Readable, Writable } from 'node:stream';
import { finished as streamFinished } from 'node:stream/promises';
import { execa } from 'execa';
import { waitUntil } from './wait.js';
import { SpawnError } from '../errors.js';
import type { OutputStream } from '../events.js';
import { readLines, type LineBudget, type LineReader, type ReadFlow } from './output.js';
import { registerGroup, unregisterGroup } from './watchdog.js';
/** How long an exit waits for the child's pipes to drain when a grandchild keeps them open. */
const OUTPUT_DRAIN_MS = 100;

export interface SpawnOptions {
  readonly server: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** One line of output: a view of its bytes, valid only during the call (see output.ts). */
  readonly onLine: (stream: OutputStream, line: Buffer, truncated: boolean) => void;
  /** The lines of output handed to onLine are taken from this budget; the rest are counted in it. */
  readonly budget?: LineBudget;
  /**
   * stdin and stdout as a protocol channel (a stdio MCP server): stdin is a pipe, and each stdout
   * line, cut at `maxLineBytes` and outside any budget, goes to `onLine` here instead.
   */
  readonly protocol?: { readonly maxLineBytes: number; readonly onLine: (line: Buffer, truncated: boolean) => void; readonly flow?: ReadFlow };
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface ChildProcess {
  readonly pid: number;
  /** Resolves once the process has exited (its output may still be flowing from grandchildren). Never rejects. */
  readonly exited: Promise<ProcessExit>;
  /** The child's stdin, with `protocol` only. */
  readonly stdin?: Writable;
  /** Holds and releases the reading of the child's stdout, with `protocol` only (backpressure). */
  readonly stdout?: LineReader;
}

/** Starts a child. Throws SpawnError when it could not be started at all (ENOENT, EACCES, bad cwd). */
export async function spawnChild(options: SpawnOptions): Promise<ChildProcess> {
  const subprocess = execa(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env,
    // The child's whole environment is what the caller built: nothing of mcpmux's leaks by default.
    extendEnv: false,
    detached: true,
    stdin: options.protocol ? 'pipe' : 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: false,
    forceKillAfterDelay: false,
    windowsHide: true,
  });
  const protocolReader = options.protocol ? readLines(subprocess.stdout, options.protocol.onLine, undefined, options.protocol.maxLineBytes, options.protocol.flow ?? {}) : undefined;
  if (!options.protocol) readLines(subprocess.stdout, (line, truncated) => options.onLine('stdout', line, truncated), options.budget);
  readLines(subprocess.stderr, (line, truncated) => options.onLine('stderr', line, truncated), options.budget);
  if (subprocess.pid === undefined) {
    const result = await subprocess;
    throw new SpawnError(options.server, { cause: result });
  }
  // The child leads its own group: its pid is the group's id.
  registerGroup(subprocess.pid);
  // 'exit', not execa's own promise: that one waits for the pipes to close, and a grandchild that
  // inherited them would hide the leader's death for as long as it lives. The pipes get a short
  // while to drain, so the last lines (a crash message) are read before the exit is reported.
  const outputEnded = Promise.all([finished(subprocess.stdout), finished(subprocess.stderr)]);
  const exited = new Promise<ProcessExit>((resolve) =>
    subprocess.once('exit', (code, signal) => {
      const timer = setTimeout(() => resolve({ code, signal }), OUTPUT_DRAIN_MS);
      void outputEnded.then(() => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    }),
  );
  // A child that exits or closes stdin makes writes fail with EPIPE: its exit tells the story.
  subprocess.stdin?.on('error', () => undefined);
  return { pid: subprocess.pid, exited, stdin: subprocess.stdin ?? undefined, stdout: protocolReader };
}

function finished(stream: Readable): Promise<void> {
  return streamFinished(stream).catch(() => undefined);
}

/** Signals a whole process group. Returns false when the group is already gone. */
export function killProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True while any process (zombies included) is left in the group. */
export function isProcessGroupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops a whole process group: SIGTERM, then SIGKILL once `graceSeconds` pass with any member left.
 * Resolves when the leader has exited and no member of the group is left (bounded after SIGKILL),
 * and takes the group off the watchdog's list then: it is gone, or SIGKILLed, which nothing escapes.
 */
export async function stopProcessGroup(child: ChildProcess, graceSeconds: number): Promise<void> {
  try {
    await stopGroup(child, graceSeconds);
  } finally {
    unregisterGroup(child.pid);
  }
}

async function stopGroup(child: ChildProcess, graceSeconds: number): Promise<void> {
  let leaderExited = false;
  void child.exited.then(() => (leaderExited = true));
  const gone = () => leaderExited && !isProcessGroupAlive(child.pid);
  if (!killProcessGroup(child.pid, 'SIGTERM') && leaderExited) return;
  if (await waitUntil(gone, graceSeconds * 1000)) return;
  killProcessGroup(child.pid, 'SIGKILL');
  await child.exited;
  await waitUntil(() => !isProcessGroupAlive(child.pid), 2000);
}
