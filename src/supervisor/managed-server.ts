/**
 * One server's state machine. It owns all runtime state of that server; the config stays frozen.
 *
 *   starting -> ready <-> unready        (probes)
 *   any running state -> backoff -> starting   (the process exited or a probe killed it)
 *   -> stopping -> stopped               (stop())
 *   -> failed                            (exited for good under its restartPolicy)
 *
 * A child's failure is recorded here as state; nothing in here throws out to the supervisor.
 */
import type { ServerConfig, ProbeConfig } from '../config/schema.js';
import type { Events, ProbeRole, ServerState } from '../events.js';
import { probeKindOf, runProbe } from '../probe/run.js';
import { ProbeWorker, type Verdict } from '../probe/worker.js';
import { nextDelay, shouldResetAttempts } from './backoff.js';
import { CHILD_HOST, describePortHolder, findFreePort, isPortFree } from './ports.js';
import { buildChildCommand } from './child-command.js';
import { buildChildEnv } from './child-env.js';
import { ServerOutput } from './output.js';
import { killProcessGroup, spawnChild, stopProcessGroup, type ChildProcess } from './spawn.js';
import { waitUntil } from './wait.js';


/** Why a process ended: a bounded set, fit for a metric label. */
export type ExitReason = 'exited' | 'crashed' | 'startup-probe' | 'liveness-probe' | 'spawn-failed' | 'port-in-use' | 'stopped';

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

export interface ServerStatus {
  readonly name: string;
  readonly prefix: string;
  readonly transport: 'http' | 'stdio';
  readonly state: ServerState;
  readonly ready: boolean;
  readonly pid: number | null;
  readonly port: number | null;
  readonly restarts: number;
  readonly startedAt: string | null;
  readonly lastExit: LastExit | null;
}

interface RunningProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly startedAt: number;
  readonly workers: ProbeWorker[];
  /** Why mcpmux itself ended this process, if it did. */
  killReason: ExitReason | undefined;
}

export class ManagedServer {
  readonly config: ServerConfig;
  readonly #events: Events;
  #state: ServerState = 'stopped';
  #process: RunningProcess | undefined;
  #restarts = 0;
  #attempt = 0;
  #lastExit: LastExit | null = null;
  /** Its output: records within a budget, across its processes, and the tail of stderr. */
  readonly #output: ServerOutput;
  #backoffTimer: NodeJS.Timeout | undefined;
  #stopRequested = false;
  #launching: Promise<void> | undefined;
  /** What is left of groups whose leader died on its own, while it is being stopped. */
  readonly #orphanedGroups = new Map<number, Promise<void>>();

  constructor(config: ServerConfig, events: Events) {
    this.config = config;
    this.#events = events;
    this.#output = new ServerOutput(config.name, events);
  }

  get name(): string {
    return this.config.name;
  }

  get state(): ServerState {
    return this.#state;
  }

  /** The loopback port of the process that may take traffic now, or undefined. */
  get readyPort(): number | undefined {
    return this.#state === 'ready' ? this.#process?.port : undefined;
  }

  status(): ServerStatus {
    const running = this.#process;
    return {
      name: this.config.name,
      prefix: this.config.prefix,
      transport: this.config.transport,
      state: this.#state,
      ready: this.#state === 'ready',
      pid: running?.child.pid ?? null,
      port: running?.port ?? null,
      restarts: this.#restarts,
      startedAt: running ? new Date(running.startedAt).toISOString() : null,
      lastExit: this.#lastExit,
    };
  }

  /** Starts the first process. Resolves once it is spawned (not once it is ready). */
  async start(): Promise<void> {
    this.#stopRequested = false;
    await this.#beginLaunch();
  }

  /**
   * Stops the process: SIGTERM to its whole group, SIGKILL after terminationGracePeriodSeconds.
   * Resolves once no process of the group is left. Safe to call twice.
   */
  stop(): Promise<void> {
    return this.#shutdown(this.config.terminationGracePeriodSeconds);
  }

  /** Forced stop: SIGKILL to the whole group now, no grace. Resolves once the group is gone. */
  kill(): Promise<void> {
    return this.#shutdown(0);
  }

  async #shutdown(graceSeconds: number): Promise<void> {
    this.#stopRequested = true;
    clearTimeout(this.#backoffTimer);
    await this.#launching;
    const running = this.#process;
    if (running) {
      if (this.#state !== 'stopping') this.#setState('stopping', 'stop requested');
      await this.#terminate(running, 'stopped', graceSeconds);
    } else if (this.#state !== 'failed') {
      this.#setState('stopped', 'stop requested');
    }
    // Orphans of an earlier process are still being stopped: wait for them, or kill them now.
    if (graceSeconds === 0) for (const pgid of this.#orphanedGroups.keys()) killProcessGroup(pgid, 'SIGKILL');
    await Promise.all(this.#orphanedGroups.values());
  }

  #beginLaunch(): Promise<void> {
    this.#launching = this.#launch().finally(() => (this.#launching = undefined));
    return this.#launching;
  }

  async #launch(): Promise<void> {
    if (this.#stopRequested) return;
    this.#setState('starting', this.#restarts === 0 ? 'first start' : `restart ${this.#restarts}`);
    let port: number;
    let child: ChildProcess;
    this.#output.clearTail();
    if (this.config.port !== 'auto' && !(await this.#waitForFixedPort(this.config.port))) {
      this.#failToStart('port-in-use', describePortHolder(this.config.port));
      return;
    }
    try {
      port = this.config.port === 'auto' ? await findFreePort() : this.config.port;
      child = await spawnChild({
        server: this.name,
        ...buildChildCommand(this.config, port),
        cwd: this.config.cwd,
        env: buildChildEnv(this.config, port),
        onLine: this.#output.onLine,
        budget: this.#output.budget,
      });
    } catch (error) {
      this.#failToStart('spawn-failed', describeCause(error));
      return;
    }
    if (this.#stopRequested) {
      // stop() ran while we were spawning: end this process (its whole group) right away.
      await stopProcessGroup(child, 0);
      this.#setState('stopped', 'stop requested');
      return;
    }
    const running: RunningProcess = { child, port, startedAt: Date.now(), workers: [], killReason: undefined };
    this.#process = running;
    this.#events.emit('process-started', { server: this.name, pid: child.pid, port });
    this.#output.startReports();
    void child.exited.then((exit) => this.#onExit(running, exit));
    this.#startProbe(running, 'startup', this.config.startupProbe, 'failure', (verdict) => {
      if (verdict === 'success') this.#onStarted(running);
      else void this.#kill(running, 'startup-probe');
    });
  }

  #onStarted(running: RunningProcess): void {
    this.#stopWorkers(running);
    const { readinessProbe, livenessProbe } = this.config;
    if (livenessProbe) {
      this.#startProbe(running, 'liveness', livenessProbe, 'success', (verdict) => {
        if (verdict === 'failure') void this.#kill(running, 'liveness-probe');
      });
    }
    if (!readinessProbe) {
      this.#setState('ready', 'startup probe passed');
      return;
    }
    this.#startProbe(running, 'readiness', readinessProbe, 'failure', (verdict) => {
      if (this.#process !== running || (this.#state !== 'starting' && this.#state !== 'ready' && this.#state !== 'unready')) return;
      if (verdict === 'success') this.#setState('ready', 'readiness probe passed');
      else if (this.#state === 'ready') this.#setState('unready', 'readiness probe failed');
    });
  }

  #startProbe(running: RunningProcess, role: ProbeRole, probe: ProbeConfig, initial: Verdict, onVerdict: (v: Verdict) => void) {
    const kind = probeKindOf(probe);
    const worker = new ProbeWorker({
      probe,
      initialVerdict: initial,
      run: () => runProbe(probe, { host: CHILD_HOST, port: running.port }),
      onResult: (result, durationMs) =>
        this.#events.emit('probe-result', { server: this.name, role, kind, outcome: result.outcome, message: result.message, durationMs }),
      onVerdict: (verdict) => {
        if (this.#process === running) onVerdict(verdict);
      },
    });
    running.workers.push(worker);
    worker.start();
  }

  #stopWorkers(running: RunningProcess): void {
    for (const worker of running.workers.splice(0)) worker.stop();
  }

  /** Ends a process that mcpmux decided to end (a probe failed); its exit then restarts it. */
  async #kill(running: RunningProcess, reason: ExitReason): Promise<void> {
    if (this.#process !== running || running.killReason) return;
    running.killReason = reason;
    this.#stopWorkers(running);
    if (this.#state === 'ready' || this.#state === 'unready' || this.#state === 'starting') this.#setState('stopping', reason);
    await this.#terminate(running, reason);
  }

  async #terminate(running: RunningProcess, reason: ExitReason, graceSeconds = this.config.terminationGracePeriodSeconds): Promise<void> {
    running.killReason ??= reason;
    this.#stopWorkers(running);
    await stopProcessGroup(running.child, graceSeconds);
  }

  /** No process was started: recorded as an exit, logged, and restarted under the restart policy. */
  #failToStart(reason: ExitReason, error: string): void {
    this.#events.emit('process-spawn-failed', { server: this.name, error });
    this.#recordExit({ code: null, signal: null }, reason, error);
    this.#afterExit(false, reason);
  }

  /**
   * A fixed port may still be held by a dying group of the previous process: wait for it, bounded
   * (that group is SIGKILLed after its grace). False when it is still held: by something else then,
   * and a process started now would only crash-loop on EADDRINUSE.
   */
  #waitForFixedPort(port: number): Promise<boolean> {
    return waitUntil(() => isPortFree(port), this.config.terminationGracePeriodSeconds * 1000 + 1000, 50);
  }

  #onExit(running: RunningProcess, exit: { code: number | null; signal: string | null }): void {
    this.#output.stopReports();
    this.#stopWorkers(running);
    this.#process = undefined;
    // The leader died on its own; whatever is left in its group would be an orphan.
    if (running.killReason === undefined) {
      const pgid = running.child.pid;
      const stopping = stopProcessGroup(running.child, this.config.terminationGracePeriodSeconds).finally(() => this.#orphanedGroups.delete(pgid));
      this.#orphanedGroups.set(pgid, stopping);
    }
    const expected = running.killReason !== undefined;
    this.#events.emit('process-exited', { server: this.name, pid: running.child.pid, code: exit.code, signal: exit.signal, expected });
    const reason = running.killReason ?? (exit.code === 0 ? 'exited' : 'crashed');
    this.#recordExit(exit, reason);
    if (shouldResetAttempts((Date.now() - running.startedAt) / 1000, this.config.backoff)) this.#attempt = 0;
    this.#afterExit(reason === 'exited', reason);
  }

  #afterExit(cleanExit: boolean, reason: ExitReason): void {
    if (this.#stopRequested) {
      this.#setState('stopped', 'stop requested');
      return;
    }
    const policy = this.config.restartPolicy;
    const restart = policy === 'Always' || (policy === 'OnFailure' && !cleanExit);
    if (!restart) {
      this.#setState(cleanExit ? 'stopped' : 'failed', `${reason}; restartPolicy ${policy}`);
      return;
    }
    this.#attempt += 1;
    const delaySeconds = nextDelay(this.#attempt, this.config.backoff);
    this.#setState('backoff', reason);
    this.#events.emit('restart-scheduled', { server: this.name, delayMs: delaySeconds * 1000, reason, attempt: this.#attempt });
    this.#backoffTimer = setTimeout(() => {
      this.#restarts += 1;
      void this.#beginLaunch();
    }, delaySeconds * 1000);
  }

  #recordExit(exit: { code: number | null; signal: string | null }, reason: ExitReason, error?: string): void {
    const at = new Date().toISOString();
    this.#lastExit = { code: exit.code, signal: exit.signal, at, reason, ...(error ? { error } : {}), stderrTail: this.#output.stderrTail() };
  }

  #setState(to: ServerState, reason: string): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#events.emit('state-changed', { server: this.name, from, to, reason });
  }
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; shortMessage?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.shortMessage ?? (error as Error)?.message ?? String(error);
}
