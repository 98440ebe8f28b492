/** A server as /status shows it: its state, its last exit, and each of its processes. */
import type { ServerState } from '../events.js';
import type { ExitReason, Run } from './process.js';

export interface LastExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: string;
  readonly reason: ExitReason;
  /** Why the process could not be started: for `spawn-failed` (e.g. ENOENT), `port-in-use` (who holds the port). */
  readonly error?: string;
  /** The last lines the process wrote to stderr. */
  readonly stderrTail: readonly string[];
}

/** One process of a server in /status: the one serving (or starting), one replacing it, or one draining. */
export interface ProcessStatus {
  /** The replica it belongs to (0 with one replica). */
  readonly replica?: number;
  readonly pid: number;
  readonly port: number;
  readonly role: 'current' | 'replacement' | 'draining';
  readonly ready: boolean;
  readonly startedAt: string;
  readonly inFlight: number;
  readonly sessions: number;
}

/** What a server and each of its replicas show alike. */
interface StateStatus {
  readonly state: ServerState;
  readonly ready: boolean;
  readonly pid: number | null;
  readonly port: number | null;
  readonly restarts: number;
  readonly startedAt: string | null;
  readonly lastExit: LastExit | null;
  readonly processes: readonly ProcessStatus[];
}

/** One replica: its own state, process, restarts and last exit. */
export interface ReplicaStatus extends StateStatus {
  readonly replica: number;
  /** Requests in flight and sessions on its processes, draining ones included. */
  readonly inFlight: number;
  readonly sessions: number;
}

/**
 * A server: ready while any replica is; `pid`, `port` and `startedAt` are its first ready
 * replica's (else its first's); `restarts` counts every replica's; `lastExit` is the latest.
 */
export interface ServerStatus extends StateStatus {
  readonly name: string;
  readonly prefix: string;
  readonly transport: 'http' | 'stdio';
  readonly replicas: readonly ReplicaStatus[];
}

/**
 * How a rollout ended: the new process took over, or it never turned ready (the old one kept
 * serving); or it never began, as another rollout of the server was under way (`busy`).
 */
export type RolloutResult = { readonly ok: true; readonly pid: number } | { readonly ok: false; readonly reason: string; readonly busy?: false } | RolloutBusy;

/** A rollout refused because another runs: what runs, since when, asked by whom. */
export interface RolloutBusy {
  readonly ok: false;
  readonly busy: true;
  readonly reason: string;
  readonly running: RunningRollout;
}

/** The rollout under way: when it began (ISO time), and who asked for it (`mcpmux rollout`, `reload (SIGHUP)`, …). */
export interface RunningRollout {
  readonly since: string;
  readonly trigger: string;
}

export function describeRun(run: Run, role: ProcessStatus['role'], replica: number): ProcessStatus {
  return {
    replica,
    pid: run.pid,
    port: run.port,
    role,
    ready: run.ready,
    startedAt: new Date(run.startedAt).toISOString(),
    inFlight: run.endpoint?.inFlight ?? 0,
    sessions: run.endpoint?.sessions ?? 0,
  };
}
