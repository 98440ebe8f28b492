/** A process for unit tests of the supervisor's state machine: it turns ready, crashes or exits when the test says. */
import type { ServerConfig } from '../../src/config/schema.js';
import { Endpoint } from '../../src/routing/endpoint.js';
import type { ExitReason, ProcessHooks, Run } from '../../src/supervisor/process.js';

export class FakeRun implements Run {
  endpoint: Endpoint | undefined;
  ready = false;
  killReason: ExitReason | undefined;
  exited = false;
  stopReason: ExitReason | undefined;
  constructor(readonly config: ServerConfig, readonly pid: number, readonly startedAt: number, private readonly hooks: ProcessHooks) {}
  get port() {
    return 40_000 + this.pid;
  }
  begin() {}
  retire() {}
  reapGroup() {
    return Promise.resolve();
  }
  killGroup() {}
  turnReady(ready = true) {
    this.ready = ready;
    if (ready) this.endpoint ??= new Endpoint(this.config.name, this.pid, this.port);
    this.hooks.onReadiness(this, ready);
  }
  exit(code: number | null) {
    this.exited = true;
    this.hooks.onExit(this, { code, signal: null }, this.killReason ?? (code === 0 ? 'exited' : 'crashed'));
  }
  async stop(reason: ExitReason) {
    this.killReason ??= reason;
    this.stopReason ??= reason;
    if (!this.exited) this.exit(null);
  }
}

