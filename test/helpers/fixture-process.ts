/**
 * A fixture from test/fixtures/ run as its own process by this very node, ready once it has
 * printed its JSON `{"msg":"listening",…}` line on stdout (startListeningProcess: any command that
 * prints that line, such as a Python fixture). Killed (SIGKILL) when the test process
 * exits, whatever the test did.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fixture } from './paths.js';
import { waitFor } from './wait.js';

export interface FixtureProcess {
  readonly proc: ChildProcessByStdio<null, Readable, Readable>;
  /** The fixture's `listening` line, parsed. */
  readonly listening: Readonly<Record<string, unknown>>;
  /** Its stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcessByStdio<null, Readable, Readable>>();
let hooked = false;

export function startFixtureProcess(name: string, args: readonly string[] = [], env: Readonly<Record<string, string>> = {}, timeoutMs = 15_000): Promise<FixtureProcess> {
  return startListeningProcess(process.execPath, [fixture(name), ...args], env, timeoutMs, name);
}

/** The same for any command that prints the `listening` line, e.g. a Python fixture run by the venv's python. */
export async function startListeningProcess(command: string, args: readonly string[], env: Readonly<Record<string, string>> = {}, timeoutMs = 15_000, name = command): Promise<FixtureProcess> {
  hookExit();
  const proc = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => running.delete(proc));

  const listening = await Promise.race([
    waitFor(() => listeningLine(stdout), `the ${name} fixture's listening line`, timeoutMs),
    exited.then(() => {
      throw new Error(`the ${name} fixture exited with ${proc.exitCode ?? proc.signalCode} before listening:\n${stderr}`);
    }),
  ]).catch((error: unknown) => {
    proc.kill('SIGKILL');
    throw error;
  });

  return {
    proc,
    listening,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

function listeningLine(stdout: string): Record<string, unknown> | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (record.msg === 'listening') return record;
    } catch {
      // a partial line: read again on the next poll
    }
  }
  return undefined;
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const proc of running) proc.kill('SIGKILL');
  });
}
