/**
 * One replica of a server: its state machine, restarts with backoff, and rollouts. It owns the
 * replica's runtime state; each process is a run (process.ts), and the config stays frozen (a
 * reload hands it a new one). A server (managed-server.ts) runs `replicas` of these, each with
 * its own processes, probes, restarts and backoff.
 *
 *   starting -> ready <-> unready        (probes of the current process)
 *   any running state -> backoff -> starting   (the process exited or a probe ended it)
 *   -> stopping -> stopped               (stop())
 *   -> failed                            (exited for good under its restartPolicy)
 *
 * A rollout starts a second process beside the current one; once it is ready it takes the route,
 * and the one it replaces drains (requests in flight, its sessions) until idle or `drainSeconds`,
 * then stops. A fixed port cannot hold two processes: such a server restarts in place.
 *
 * Every process it spawns has an owner from the moment the spawn is asked for (the current slot,
 * the replacement slot, or the set being stopped): a rollout, a restart, a stop or a retire that
 * comes during a spawn finds it there, and a stop waits for it. None is ever left unowned.
 *
 * A child's failure is recorded here as state; nothing in here throws out to the supervisor.
 */
import type { ServerConfig } from '../config/schema.js';
import type { Events, ServerState } from '../events.js';
import { nextDelay, shouldResetAttempts } from './backoff.js';
import { ServerOutput } from './output.js';
import { describePortHolder, isPortFree } from './ports.js';
import { systemClock, type Clock } from '../clock.js';
import { ProcessRun, type ExitReason, type ProcessExit, type ProcessHooks, type Run, type SpawnRun } from './process.js';
import { describeRun, type LastExit, type ReplicaStatus, type RolloutResult } from './status.js';
import { waitUntil } from './wait.js';


/** What a unit test may replace: time, and how a process is started. */
export interface ServerSeams {
  readonly clock: Clock;
  readonly spawnRun: SpawnRun;
}

/** Tells the server each state change of a replica, for the server's own state. */
export type ReplicaStateHook = (replica: Replica, from: ServerState, to: ServerState, reason: string) => void;

/** How long a restart in place is waited for before its rollout is reported as failed (it goes on). */
const RESTART_WAIT_MS = 300_000;

/** A rollout's new process: its slot is taken before the spawn, so `run` is undefined while it spawns. */
interface Replacement {
  run: Run | undefined;
  readonly settle: (result: RolloutResult) => void;
}

export class Replica {
  /** 0, 1, …: its place among the server's replicas. */
  readonly index: number;
  readonly #onState: ReplicaStateHook;
  #config: ServerConfig;
  readonly #events: Events;
  #state: ServerState = 'stopped';
  /** The process that serves, or is starting to. */
  #current: Run | undefined;
  /** A rollout's new process, from the spawn until it is ready. */
  #replacement: Replacement | undefined;
  /** Rollouts' spawns under way: a stop or a retire waits for them, and ends what they spawned. */
  readonly #spawning = new Set<Promise<void>>();
  readonly #draining = new Set<Run>();
  #restarts = 0;
  #attempt = 0;
  #lastExit: LastExit | null = null;
  /** Its output: records within a budget, across its processes, and the tail of stderr. */
  readonly #output: ServerOutput;
  #backoffTimer: unknown;
  #stopRequested = false;
  /** A stop is under way: drains end at once. */
  #cutDrains = false;
  #launching: Promise<void> | undefined;
  /** Process groups still being stopped: orphans of a leader that died on its own. */
  readonly #stopping = new Map<Run, Promise<void>>();
  readonly #hooks: ProcessHooks;
  readonly #clock: Clock;
  readonly #spawnRun: SpawnRun;

  constructor(config: ServerConfig, events: Events, index = 0, onState: ReplicaStateHook = () => undefined, seams: Partial<ServerSeams> = {}, output?: ServerOutput) {
    this.#config = config;
    this.#events = events;
    this.index = index;
    this.#onState = onState;
    this.#clock = seams.clock ?? systemClock;
    this.#spawnRun = seams.spawnRun ?? ((...args) => ProcessRun.spawn(...args));
    this.#output = output ?? new ServerOutput(config.name, events);
    this.#hooks = {
      onReadiness: (run, ready) => this.#onReadiness(run, ready),
      onProbeKill: (run, reason) => this.#onProbeKill(run, reason),
      onExit: (run, exit, reason) => this.#onExit(run, exit, reason),
    };
  }

  get config(): ServerConfig {
    return this.#config;
  }

  get name(): string {
    return this.#config.name;
  }

  get state(): ServerState {
    return this.#state;
  }

  /** A config that changes only how the route treats requests (auth, limits, prefix): no process is touched. */
  updateConfig(config: ServerConfig): void {
    this.#config = config;
  }

  status(): ReplicaStatus {
    const running = this.#current;
    const processes = [
      ...(running ? [describeRun(running, 'current', this.index)] : []),
      ...(this.#replacement?.run ? [describeRun(this.#replacement.run, 'replacement', this.index)] : []),
      ...[...this.#draining].map((run) => describeRun(run, 'draining', this.index)),
    ];
    return {
      replica: this.index,
      state: this.#state,
      ready: this.#state === 'ready',
      pid: running?.pid ?? null,
      port: running?.port ?? null,
      restarts: this.#restarts,
      startedAt: running ? new Date(running.startedAt).toISOString() : null,
      lastExit: this.#lastExit,
      inFlight: processes.reduce((n, p) => n + p.inFlight, 0),
      sessions: processes.reduce((n, p) => n + p.sessions, 0),
      processes,
    };
  }

  /** Starts the first process. Resolves once it is spawned (not once it is ready). */
  async start(): Promise<void> {
    this.#stopRequested = false;
    await this.#beginLaunch();
  }

  /**
   * Stops every process of the replica: SIGTERM to each whole group, SIGKILL after
   * terminationGracePeriodSeconds. Resolves once no process of any group is left. Safe to call twice.
   */
  stop(): Promise<void> {
    return this.#shutdown(this.#config.terminationGracePeriodSeconds);
  }

  /** Forced stop: SIGKILL to every group now, no grace. Resolves once they are gone. */
  kill(): Promise<void> {
    return this.#shutdown(0);
  }

  /**
   * Replaces the running process with one on `config` (the current one by default): a new process
   * beside the old, the route switched once it is ready, the old one drained and stopped. With a
   * fixed port, or nothing running, the server restarts in place. Resolves when the new process
   * has taken over, or has failed to (the old one then keeps serving, on the old config).
   */
  async rollout(config: ServerConfig = this.#config): Promise<RolloutResult> {
    if (this.#stopRequested) return { ok: false, reason: 'the server is stopping' };
    this.#dropReplacement('replaced by a newer rollout');
    if (config.port !== 'auto' || !this.#current || this.#state !== 'ready') return this.#restartInPlace(config);
    return this.#startReplacement(config);
  }

  /**
   * A new process beside the current one. Its slot is taken before the spawn is awaited: a newer
   * rollout, a stop or a retire during the spawn gives the slot up (and answers this rollout), and
   * the process then spawned is ended at once, never left running unowned.
   */
  #startReplacement(config: ServerConfig): Promise<RolloutResult> {
    let settle!: (result: RolloutResult) => void;
    const settled = new Promise<RolloutResult>((resolve) => (settle = resolve));
    const slot: Replacement = { run: undefined, settle };
    this.#replacement = slot;
    const spawned = this.#spawnRun(config, this.#events, this.#output, this.#hooks).then(
      (run) => {
        if (this.#replacement !== slot) return this.#discard(run, this.#stopRequested ? 'stopped' : 'replaced');
        slot.run = run;
        run.begin();
      },
      (error: unknown) => {
        if (this.#replacement === slot) this.#replacement = undefined;
        slot.settle({ ok: false, reason: `the new process could not be started: ${describeCause(error)}` });
      },
    ).catch((error: unknown) => this.#events.emit('internal-error', { where: 'rollout', error }));
    this.#spawning.add(spawned);
    void spawned.finally(() => this.#spawning.delete(spawned));
    return settled;
  }

  /** Gives up a rollout's new process (spawning, or started and not yet ready): its rollout is answered, its process ended. */
  #dropReplacement(reason: string, exitReason: ExitReason = 'replaced'): void {
    const replacement = this.#replacement;
    if (!replacement) return;
    this.#replacement = undefined;
    replacement.settle({ ok: false, reason });
    if (replacement.run) void this.#discard(replacement.run, exitReason);
  }

  /** Ends a process that never served, at once; a stop waits for it with the other groups being stopped. */
  #discard(run: Run, reason: ExitReason): Promise<void> {
    const stopping = run.stop(reason, 0).finally(() => this.#stopping.delete(run));
    this.#stopping.set(run, stopping);
    return stopping;
  }

  async #restartInPlace(config: ServerConfig): Promise<RolloutResult> {
    this.#clock.clearTimeout(this.#backoffTimer);
    this.#config = config;
    // A launch under way finishes first: its process is then the one restarted below.
    await this.#launching;
    this.#clock.clearTimeout(this.#backoffTimer);
    if (this.#stopRequested) return { ok: false, reason: 'the server is stopping' };
    const current = this.#current;
    if (current) {
      this.#setState('stopping', 'restart');
      this.#current = undefined;
      // No new request reaches it; it is stopped at once (a fixed port cannot hold two processes).
      if (current.endpoint) this.#events.emit('endpoint-unready', { server: this.name, endpoint: current.endpoint });
      this.#retire(current);
      this.#output.stopReports();
      await current.stop('replaced');
      await this.#stopping.get(current);
    }
    this.#attempt = 0;
    await this.#beginLaunch();
    const started = await waitUntil(() => this.#state === 'ready' || this.#state === 'backoff' || this.#state === 'failed' || this.#stopRequested, RESTART_WAIT_MS, 20, this.#clock);
    return started && this.#state === 'ready' ? { ok: true, pid: this.#current!.pid } : { ok: false, reason: `the restarted process is ${this.#state}` };
  }

  /**
   * The replica goes (its server left the config, or has fewer replicas now): nothing restarts it
   * any more, and its process finishes its requests in flight and the sessions that can still
   * reach it for up to drainSeconds, then stops.
   */
  async retire(): Promise<void> {
    this.#stopRequested = true;
    this.#clock.clearTimeout(this.#backoffTimer);
    this.#dropReplacement('the server was removed', 'stopped');
    await this.#settleSpawns();
    const current = this.#current;
    if (current) {
      this.#setState('stopping', 'retired');
      this.#current = undefined;
      this.#output.stopReports();
      await this.#drain(current);
    }
    await Promise.all([...this.#draining].map((run) => run.stop('stopped')));
    await Promise.all(this.#stopping.values());
    this.#setState('stopped', 'retired');
  }

  async #shutdown(graceSeconds: number): Promise<void> {
    this.#stopRequested = true;
    this.#cutDrains = true;
    this.#clock.clearTimeout(this.#backoffTimer);
    this.#dropReplacement('the server is stopping', 'stopped');
    await this.#settleSpawns();
    const runs = [this.#current, ...this.#draining].filter((run): run is Run => run !== undefined);
    if (this.#current) {
      if (this.#state !== 'stopping') this.#setState('stopping', 'stop requested');
    } else if (this.#state !== 'failed') {
      this.#setState('stopped', 'stop requested');
    }
    await Promise.all(runs.map((run) => run.stop('stopped', graceSeconds)));
    // Groups still being stopped (orphans, drained processes): wait for them, or kill them now.
    if (graceSeconds === 0) for (const run of this.#stopping.keys()) run.killGroup();
    await Promise.all(this.#stopping.values());
  }

  /** Waits for every spawn under way (a launch, rollouts'): each process is then current, or being stopped. */
  async #settleSpawns(): Promise<void> {
    while (this.#launching || this.#spawning.size > 0) await Promise.all([this.#launching, ...this.#spawning]);
  }

  /** One launch at a time, and never over a process that serves: a second would leave the first unowned. */
  #beginLaunch(): Promise<void> {
    if (this.#launching) return this.#launching;
    if (this.#current) return Promise.resolve();
    this.#launching = this.#launch().finally(() => (this.#launching = undefined));
    return this.#launching;
  }

  async #launch(): Promise<void> {
    if (this.#stopRequested) return;
    const config = this.#config;
    this.#setState('starting', this.#restarts === 0 ? 'first start' : `restart ${this.#restarts}`);
    this.#output.clearTail();
    if (config.port !== 'auto' && !(await this.#waitForFixedPort(config.port))) {
      this.#failToStart('port-in-use', describePortHolder(config.port));
      return;
    }
    let run: Run;
    try {
      run = await this.#spawnRun(config, this.#events, this.#output, this.#hooks);
    } catch (error) {
      this.#failToStart('spawn-failed', describeCause(error));
      return;
    }
    if (this.#stopRequested) {
      // stop() ran while we were spawning: end this process (its whole group) right away.
      await this.#discard(run, 'stopped');
      this.#setState('stopped', 'stop requested');
      return;
    }
    if (this.#current) {
      // A rollout's new process took over while this restart spawned: it serves; this one goes.
      await this.#discard(run, 'replaced');
      return;
    }
    this.#current = run;
    this.#output.startReports();
    run.begin();
  }

  #onReadiness(run: Run, ready: boolean): void {
    if (this.#replacement?.run === run) {
      if (ready) this.#takeOver(run);
      return;
    }
    if (run !== this.#current || (this.#state !== 'starting' && this.#state !== 'ready' && this.#state !== 'unready')) return;
    const reason = run.config.readinessProbe ? `readiness probe ${ready ? 'passed' : 'failed'}` : 'startup probe passed';
    if (ready) {
      this.#setState('ready', reason);
      this.#events.emit('endpoint-ready', { server: this.name, endpoint: run.endpoint! });
    } else if (this.#state === 'ready') {
      this.#setState('unready', reason);
      this.#events.emit('endpoint-unready', { server: this.name, endpoint: run.endpoint! });
    }
  }

  /** A rollout's new process is ready: it takes the route, and the one it replaces drains. */
  #takeOver(run: Run): void {
    const replacement = this.#replacement!;
    this.#replacement = undefined;
    const old = this.#current;
    this.#current = run;
    this.#config = run.config;
    this.#attempt = 0;
    // A restart due for a current process that crashed meanwhile: this one serves instead.
    this.#clock.clearTimeout(this.#backoffTimer);
    this.#events.emit('endpoint-ready', { server: this.name, endpoint: run.endpoint! });
    this.#setState('ready', 'a new process took over');
    if (old) void this.#drain(old);
    replacement.settle({ ok: true, pid: run.pid });
  }

  /** Lets a replaced process finish its requests and sessions, then stops it. */
  async #drain(run: Run): Promise<void> {
    this.#retire(run);
    if (run.endpoint) {
      this.#events.emit('endpoint-draining', { server: this.name, endpoint: run.endpoint });
      const endpoint = run.endpoint;
      const idle = await waitUntil(() => endpoint.idle || run.exited || this.#cutDrains, this.#config.drainSeconds * 1000, 50, this.#clock);
      this.#events.emit('process-drained', { server: this.name, pid: run.pid, idle, inFlight: endpoint.inFlight, sessions: endpoint.sessions });
    }
    await run.stop('replaced');
  }

  /** A process that no longer serves: its probes stop, and its exit restarts nothing. */
  #retire(run: Run): void {
    run.retire();
    this.#draining.add(run);
  }

  #onProbeKill(run: Run, reason: ExitReason): void {
    if (this.#replacement?.run === run) return;
    if (run !== this.#current) return;
    if (this.#state === 'ready') this.#events.emit('endpoint-unready', { server: this.name, endpoint: run.endpoint! });
    if (this.#state === 'ready' || this.#state === 'unready' || this.#state === 'starting') this.#setState('stopping', reason);
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
    return waitUntil(() => isPortFree(port), this.#config.terminationGracePeriodSeconds * 1000 + 1000, 50);
  }

  #onExit(run: Run, exit: ProcessExit, reason: ExitReason): void {
    // The leader died on its own; whatever is left in its group would be an orphan.
    if (run.killReason === undefined) {
      const stopping = run.reapGroup(run.config.terminationGracePeriodSeconds).finally(() => this.#stopping.delete(run));
      this.#stopping.set(run, stopping);
    }
    this.#events.emit('process-exited', { server: this.name, pid: run.pid, code: exit.code, signal: exit.signal, expected: run.killReason !== undefined });
    if (run.endpoint) this.#events.emit('endpoint-gone', { server: this.name, endpoint: run.endpoint });
    if (this.#draining.delete(run)) return;
    if (this.#replacement?.run === run) {
      this.#replacement.settle({ ok: false, reason: `the new process ended before it was ready (${reason}, code ${exit.code ?? exit.signal})` });
      this.#replacement = undefined;
      return;
    }
    if (run !== this.#current) return;
    this.#output.stopReports();
    this.#current = undefined;
    this.#recordExit(exit, reason);
    if (shouldResetAttempts((this.#clock.now() - run.startedAt) / 1000, run.config.backoff)) this.#attempt = 0;
    this.#afterExit(reason === 'exited', reason);
  }

  #afterExit(cleanExit: boolean, reason: ExitReason): void {
    if (this.#stopRequested) {
      this.#setState('stopped', 'stop requested');
      return;
    }
    const policy = this.#config.restartPolicy;
    const restart = policy === 'Always' || (policy === 'OnFailure' && !cleanExit);
    if (!restart) {
      this.#setState(cleanExit ? 'stopped' : 'failed', `${reason}; restartPolicy ${policy}`);
      return;
    }
    this.#attempt += 1;
    const delaySeconds = nextDelay(this.#attempt, this.#config.backoff);
    this.#setState('backoff', reason);
    this.#events.emit('restart-scheduled', { server: this.name, replica: this.index, delayMs: delaySeconds * 1000, reason, attempt: this.#attempt });
    this.#backoffTimer = this.#clock.setTimeout(() => {
      this.#restarts += 1;
      void this.#beginLaunch();
    }, delaySeconds * 1000);
  }

  #recordExit(exit: ProcessExit, reason: ExitReason, error?: string): void {
    const at = new Date(this.#clock.now()).toISOString();
    this.#lastExit = { code: exit.code, signal: exit.signal, at, reason, ...(error ? { error } : {}), stderrTail: this.#output.stderrTail() };
  }

  #setState(to: ServerState, reason: string): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#onState(this, from, to, reason);
  }
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; shortMessage?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.shortMessage ?? (error as Error)?.message ?? String(error);
}
