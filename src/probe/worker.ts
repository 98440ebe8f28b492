/**
 * One probe loop for one process and one probe role, as the kubelet runs them.
 * Thresholds decide when results count; `unknown` results never move the verdict.
 * `tick()` runs one probe and can be driven on its own in tests; `stop()` never blocks.
 */
import type { ProbeConfig } from '../config/schema.js';
import type { ProbeOutcome, ProbeResult } from './result.js';

export type Verdict = 'success' | 'failure';

export interface ThresholdState {
  readonly verdict: Verdict;
  readonly successes: number;
  readonly failures: number;
}

/** Pure: folds one outcome into the consecutive counters and the verdict. */
export function applyOutcome(
  state: ThresholdState,
  outcome: ProbeOutcome,
  thresholds: Pick<ProbeConfig, 'successThreshold' | 'failureThreshold'>,
): ThresholdState {
  if (outcome === 'unknown') return state;
  if (outcome === 'success') {
    const successes = state.successes + 1;
    return { verdict: successes >= thresholds.successThreshold ? 'success' : state.verdict, successes, failures: 0 };
  }
  const failures = state.failures + 1;
  return { verdict: failures >= thresholds.failureThreshold ? 'failure' : state.verdict, successes: 0, failures };
}

export interface ProbeWorkerOptions {
  readonly probe: ProbeConfig;
  /** The verdict before any probe ran: failure for startup and readiness, success for liveness. */
  readonly initialVerdict: Verdict;
  readonly run: () => Promise<ProbeResult>;
  /** Every result, for logs and metrics. */
  readonly onResult?: (result: ProbeResult, durationMs: number) => void;
  /** Called when the verdict changes, and once when the failure threshold is first reached. */
  readonly onVerdict: (verdict: Verdict, result: ProbeResult) => void;
}

export class ProbeWorker {
  #state: ThresholdState;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #options: ProbeWorkerOptions;

  constructor(options: ProbeWorkerOptions) {
    this.#options = options;
    this.#state = { verdict: options.initialVerdict, successes: 0, failures: 0 };
  }

  get verdict(): Verdict {
    return this.#state.verdict;
  }

  start(): void {
    this.#schedule(this.#options.probe.initialDelaySeconds * 1000);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Runs one probe and applies its result. Returns the verdict after it. */
  async tick(): Promise<Verdict> {
    const started = performance.now();
    const result = await this.#options.run();
    if (this.#stopped) return this.#state.verdict;
    this.#options.onResult?.(result, performance.now() - started);
    const before = this.#state;
    this.#state = applyOutcome(before, result.outcome, this.#options.probe);
    const reachedFailure = result.outcome === 'failure' && this.#state.failures === this.#options.probe.failureThreshold;
    if (this.#state.verdict !== before.verdict || reachedFailure) this.#options.onVerdict(this.#state.verdict, result);
    return this.#state.verdict;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      const started = performance.now();
      await this.tick();
      const periodMs = this.#options.probe.periodSeconds * 1000;
      this.#schedule(Math.max(0, periodMs - (performance.now() - started)));
    }, delayMs);
  }
}
