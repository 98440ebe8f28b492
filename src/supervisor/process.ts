/**
 * One run of a server: a process with its port, env and probes, from spawn to stop. It decides
 * nothing about restarts; it reports what happened (started, ready or not, a probe that wants it
 * ended, its exit) to its owner, the server (managed-server.ts), which holds the policy.
 *
 * Its endpoint, made when it first turns ready, is what the route table sends traffic to.
 */
import type { ProbeConfig, ServerConfig } from '../config/schema.js';
import type { Events, ProbeRole } from '../events.js';
import { probeKindOf, runProbe } from '../probe/run.js';
import { ProbeWorker, type Verdict } from '../probe/worker.js';
import { CHILD_HOST, Endpoint } from '../routing/endpoint.js';
import { buildChildCommand } from './child-command.js';
import { buildChildEnv, type AddedEnv } from './child-env.js';
import { BRIDGE_KEY_ENV, bridgeKeyFor, bridgeKeyHeaders } from './bridge-key.js';
import type { ServerOutput } from './output.js';
import { findFreePort } from './ports.js';
import { killProcessGroup, spawnChild, stopProcessGroup, type ChildProcess } from './spawn.js';

/** Why a process ended: a bounded set, fit for a metric label. */
export type ExitReason = 'exited' | 'crashed' | 'startup-probe' | 'liveness-probe' | 'spawn-failed' | 'port-in-use' | 'stopped' | 'replaced';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** What a run tells its server. Each is called only while the run is live (not after its exit). */
export interface ProcessHooks {
  /** The readiness verdict changed (or was first given). */
  onReadiness(run: Run, ready: boolean): void;
  /** A startup or liveness probe failed for good: the run is being ended. */
  onProbeKill(run: Run, reason: ExitReason): void;
  /** The process is gone; `reason` is why (mcpmux's own reason if it ended it). */
  onExit(run: Run, exit: ProcessExit, reason: ExitReason): void;
}

/**
 * What a server needs of one of its runs: ProcessRun, or a unit test's stand-in (the server's
 * state machine is tested with an injected spawn and clock).
 */
export interface Run {
  readonly config: ServerConfig;
  readonly pid: number;
  readonly port: number;
  readonly startedAt: number;
  readonly endpoint: Endpoint | undefined;
  readonly ready: boolean;
  readonly killReason: ExitReason | undefined;
  readonly exited: boolean;
  begin(): void;
  stop(reason: ExitReason, graceSeconds?: number): Promise<void>;
  retire(): void;
  /** Stops what is left of its process group (a leader that died on its own leaves orphans). */
  reapGroup(graceSeconds: number): Promise<void>;
  /** SIGKILL to its whole group, now. */
  killGroup(): void;
}

/** Starts a run: ProcessRun.spawn, unless a unit test injects its own. */
export type SpawnRun = (config: ServerConfig, events: Events, output: ServerOutput, hooks: ProcessHooks) => Promise<Run>;

export class ProcessRun implements Run {
  readonly config: ServerConfig;
  readonly child: ChildProcess;
  readonly port: number;
  readonly startedAt = Date.now();
  /** Made when the process first turns ready; the same object across unready spells. */
  endpoint: Endpoint | undefined;
  ready = false;
  /** Why mcpmux ended this process, if it did. */
  killReason: ExitReason | undefined;
  exited = false;
  readonly #events: Events;
  readonly #hooks: ProcessHooks;
  readonly #workers: ProbeWorker[] = [];

  private constructor(config: ServerConfig, child: ChildProcess, port: number, events: Events, hooks: ProcessHooks) {
    this.config = config;
    this.child = child;
    this.port = port;
    this.#events = events;
    this.#hooks = hooks;
  }

  /**
   * Spawns the process on `port` (a free one for `port: auto`), with what mcpmux adds to its
   * environment (`added`: tracing's). Throws when it cannot be started.
   */
  static async spawn(config: ServerConfig, events: Events, output: ServerOutput, hooks: ProcessHooks, added: AddedEnv = {}): Promise<ProcessRun> {
    const port = config.port === 'auto' ? await findFreePort() : config.port;
    const env = buildChildEnv(config, port, process.env, added.env);
    // A bridge's own endpoints answer mcpmux alone: its key, which the stdio server never sees.
    if (config.transport === 'stdio') Object.assign(env, added.bridge, { [BRIDGE_KEY_ENV]: bridgeKeyFor(port) });
    const child = await spawnChild({
      server: config.name,
      ...buildChildCommand(config, port),
      cwd: config.cwd,
      env,
      onLine: output.onLine,
      budget: output.budget,
    });
    return new ProcessRun(config, child, port, events, hooks);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Starts the probes and watches the exit. */
  begin(): void {
    this.#events.emit('process-started', { server: this.config.name, pid: this.pid, port: this.port });
    void this.child.exited.then((exit) => {
      this.exited = true;
      this.#stopWorkers();
      this.#hooks.onExit(this, exit, this.killReason ?? (exit.code === 0 ? 'exited' : 'crashed'));
    });
    this.#startProbe('startup', this.config.startupProbe, 'failure', (verdict) => {
      if (verdict === 'success') this.#onStarted();
      else this.#probeKill('startup-probe');
    });
  }

  #onStarted(): void {
    this.#stopWorkers();
    const { readinessProbe, livenessProbe } = this.config;
    if (livenessProbe) {
      this.#startProbe('liveness', livenessProbe, 'success', (verdict) => {
        if (verdict === 'failure') this.#probeKill('liveness-probe');
      });
    }
    if (!readinessProbe) return this.#setReady(true);
    this.#startProbe('readiness', readinessProbe, 'failure', (verdict) => this.#setReady(verdict === 'success'));
  }

  #setReady(ready: boolean): void {
    if (this.killReason !== undefined) return;
    this.ready = ready;
    if (ready) this.endpoint ??= new Endpoint(this.config.name, this.pid, this.port);
    this.#hooks.onReadiness(this, ready);
  }

  #probeKill(reason: ExitReason): void {
    if (this.killReason !== undefined || this.exited) return;
    this.#hooks.onProbeKill(this, reason);
    void this.stop(reason);
  }

  /**
   * Ends the process: SIGTERM to its whole group, SIGKILL after the grace (the server's
   * terminationGracePeriodSeconds by default). Resolves once the group is gone. Safe to call twice.
   */
  async stop(reason: ExitReason, graceSeconds = this.config.terminationGracePeriodSeconds): Promise<void> {
    this.killReason ??= reason;
    this.#stopWorkers();
    await stopProcessGroup(this.child, graceSeconds);
  }

  reapGroup(graceSeconds: number): Promise<void> {
    return stopProcessGroup(this.child, graceSeconds);
  }

  killGroup(): void {
    killProcessGroup(this.pid, 'SIGKILL');
  }

  /** No longer serving (replaced, draining): its probes stop. */
  retire(): void {
    this.#stopWorkers();
  }

  #startProbe(role: ProbeRole, probe: ProbeConfig, initial: Verdict, onVerdict: (v: Verdict) => void): void {
    const kind = probeKindOf(probe);
    const server = this.config.name;
    const target = { host: CHILD_HOST, port: this.port, headers: this.config.transport === 'stdio' ? bridgeKeyHeaders(this.port) : undefined };
    const worker = new ProbeWorker({
      probe,
      initialVerdict: initial,
      run: () => runProbe(probe, target),
      onResult: (result, durationMs) => this.#events.emit('probe-result', { server, role, kind, outcome: result.outcome, message: result.message, durationMs }),
      onVerdict: (verdict) => {
        if (!this.exited && this.killReason === undefined) onVerdict(verdict);
      },
    });
    this.#workers.push(worker);
    worker.start();
  }

  #stopWorkers(): void {
    for (const worker of this.#workers.splice(0)) worker.stop();
  }
}
