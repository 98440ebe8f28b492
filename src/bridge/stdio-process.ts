/**
 * One process of a stdio MCP server: JSON-RPC messages in on stdin and out on stdout, one per line;
 * stderr as output lines. The process leads its own group, registered with the watchdog (spawn.ts),
 * and is stopped as the MCP spec's stdio shutdown says: stdin closed, then SIGTERM to the whole
 * group, then SIGKILL after the grace period.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { OutputStream } from '../events.js';
import { spawnChild, stopProcessGroup, isProcessGroupAlive, type ChildProcess, type ProcessExit } from '../supervisor/spawn.js';
import { LineBudget } from '../supervisor/output.js';
import { waitUntil } from '../supervisor/wait.js';

/** How long a process gets to exit by itself once its stdin is closed, before SIGTERM. */
const STDIN_CLOSE_GRACE_MS = 1000;

export interface StdioCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * What a process did on stdout that is not a JSON-RPC message: a line that is not one (reported
 * while the process's budget of lines that go nowhere lasts; `dropped` says how many went
 * unreported before it), a line over the size limit, and at the end, what went unreported since.
 */
export type StdoutProblem =
  | { readonly kind: 'not-json'; readonly line: string; readonly dropped: number }
  | { readonly kind: 'too-long'; readonly bytes: number }
  | { readonly kind: 'dropped'; readonly lines: number };

/** Where a process's messages go: its session, once it has one. `bytes`: the message's size on stdout. */
export interface MessageSink {
  readonly onMessage: (message: JSONRPCMessage, bytes: number) => void;
  readonly onStdoutProblem: (problem: StdoutProblem) => void;
}

export interface StdioProcessOptions {
  readonly command: StdioCommand;
  /** A stdout line longer than this is refused (`too-long`): the process's session fails. */
  readonly maxMessageBytes: number;
  readonly graceSeconds: number;
  readonly budget?: LineBudget;
  /** stderr lines (and stdout that is not JSON-RPC, through the sink's onStdoutProblem). */
  readonly onOutput: (stream: OutputStream, line: string) => void;
  /** Until `attach`, problems go here and messages wait (a warm process has no session yet). */
  readonly onUnattachedProblem: (problem: StdoutProblem) => void;
}

/** Messages a process may write before it has a session; more are dropped. */
const MAX_WAITING_MESSAGES = 100;
/**
 * Lines that go nowhere (not JSON-RPC, or a message nobody can take), per process: 100 at once,
 * then 10 a second are reported; past it they are counted, and stdout is read in 64 KiB steps
 * with 10 ms pauses (output.ts), so a process flooding noise costs its neighbours little.
 */
const NOISE_BURST = 100;
const NOISE_PER_SECOND = 10;
/** A chunk of this many lines or more yields the event loop before the next read: sessions take turns. */
const YIELD_AFTER_LINES = 256;
/** Lines of stderr kept for the record of a failed session. */
const STDERR_TAIL_LINES = 10;

export interface StdioProcess {
  readonly pid: number;
  readonly startedAt: number;
  /** From now on, messages and problems go to `sink`; messages written before are handed over first. */
  attach(sink: MessageSink): void;
  readonly exited: Promise<ProcessExit>;
  /** The last lines the process wrote on stderr. */
  stderrTail(): string[];
  /** Writes one message; false when the process no longer takes input. */
  send(message: JSONRPCMessage): boolean;
  /** Stops reading stdout (its session's client is not keeping up): the process waits on its own pipe. */
  holdOutput(): void;
  releaseOutput(): void;
  /** A message of this process went nowhere: it counts against the budget of such lines. */
  wasted(): void;
  /** Closes stdin, then SIGTERM, then SIGKILL; resolves when no process of the group is left. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a process. Throws SpawnError when it cannot be started at all. */
export async function startStdioProcess(options: StdioProcessOptions): Promise<StdioProcess> {
  let sink: MessageSink | undefined;
  const waiting: [JSONRPCMessage, number][] = [];
  const noise = new LineBudget({ burst: NOISE_BURST, perSecond: NOISE_PER_SECOND });
  const onMessage = (message: JSONRPCMessage, bytes: number) => {
    if (sink) sink.onMessage(message, bytes);
    else if (waiting.length < MAX_WAITING_MESSAGES) waiting.push([message, bytes]);
    else noise.take();
  };
  const tail: string[] = [];
  const onProblem = (problem: StdoutProblem) => (sink ? sink.onStdoutProblem(problem) : options.onUnattachedProblem(problem));
  const child: ChildProcess = await spawnChild({
    server: options.command.command,
    command: options.command.command,
    args: options.command.args,
    cwd: options.command.cwd,
    env: options.command.env,
    budget: options.budget,
    onLine: (stream, line) => {
      const text = line.toString('utf8');
      if (stream === 'stderr' && tail.push(text) > STDERR_TAIL_LINES) tail.shift();
      options.onOutput(stream, text);
    },
    protocol: {
      maxLineBytes: options.maxMessageBytes + 1,
      onLine: (line, truncated) => {
        if (truncated) return onProblem({ kind: 'too-long', bytes: line.length });
        if (line.length === 0) return;
        const message = parseMessage(line);
        if (message) onMessage(message, line.length);
        else if (noise.take()) onProblem({ kind: 'not-json', line: line.subarray(0, 1024).toString('utf8'), dropped: noise.takeDropped() });
      },
      flow: { yieldAfterLines: YIELD_AFTER_LINES, slowDown: () => !noise.hasToken() },
    },
  });
  const stdin = child.stdin!;
  const stdout = child.stdout!;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
    const lines = noise.takeDropped();
    if (lines > 0) onProblem({ kind: 'dropped', lines });
  });
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    startedAt: Date.now(),
    attach(next) {
      sink = next;
      for (const [message, bytes] of waiting.splice(0)) next.onMessage(message, bytes);
    },
    holdOutput: () => stdout.hold(),
    releaseOutput: () => stdout.release(),
    wasted: () => void noise.take(),
    exited: child.exited,
    stderrTail: () => [...tail],
    send(message) {
      if (exited || stdin.writableEnded || stdin.destroyed) return false;
      stdin.write(`${JSON.stringify(message)}\n`);
      return true;
    },
    stop() {
      stopping ??= (async () => {
        stdin.end();
        const gone = () => exited && !isProcessGroupAlive(child.pid);
        if (!(await waitUntil(gone, STDIN_CLOSE_GRACE_MS))) await stopProcessGroup(child, options.graceSeconds);
        else await stopProcessGroup(child, 0);
      })();
      return stopping;
    },
  };
}

/** A JSON-RPC 2.0 message (one object; stdio carries no batches), or undefined. */
export function parseMessage(line: Buffer): JSONRPCMessage | undefined {
  // Most noise is not even an object: no parse (and no exception) for it.
  let first = 0;
  while (first < line.length && (line[first] === 0x20 || line[first] === 0x09)) first += 1;
  if (line[first] !== 0x7b) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return (value as { jsonrpc?: unknown }).jsonrpc === '2.0' ? (value as JSONRPCMessage) : undefined;
}
