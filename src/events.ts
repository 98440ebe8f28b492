/**
 * Typed lifecycle events. The code that emits an event does not know who listens:
 * logging (and later metrics) subscribe here, nothing else reaches into them.
 */
import { EventEmitter } from 'node:events';
import type { ProbeKind } from './config/schema.js';
import type { ProbeOutcome } from './probe/result.js';

export type ServerState = 'starting' | 'ready' | 'unready' | 'backoff' | 'stopping' | 'stopped' | 'failed';
export type ProbeRole = 'startup' | 'readiness' | 'liveness';
export type OutputStream = 'stdout' | 'stderr';

export interface LifecycleEvents {
  'process-started': { server: string; pid: number; port: number };
  'process-spawn-failed': { server: string; error: string };
  'process-exited': { server: string; pid: number; code: number | null; signal: string | null; expected: boolean };
  'state-changed': { server: string; from: ServerState; to: ServerState; reason: string };
  'probe-result': { server: string; role: ProbeRole; kind: ProbeKind; outcome: ProbeOutcome; message: string; durationMs: number };
  'restart-scheduled': { server: string; delayMs: number; reason: string; attempt: number };
  'output': { server: string; stream: OutputStream; line: string; truncated: boolean };
  'upstream-error': { server: string; kind: string; message: string; responded: boolean };
  'listening': { listener: 'public' | 'admin'; host: string; port: number };
  'shutdown-step': { step: string; [key: string]: unknown };
  'internal-error': { where: string; error: unknown };
}

export interface Events {
  emit<K extends keyof LifecycleEvents>(name: K, payload: LifecycleEvents[K]): void;
  on<K extends keyof LifecycleEvents>(name: K, listener: (payload: LifecycleEvents[K]) => void): void;
  off<K extends keyof LifecycleEvents>(name: K, listener: (payload: LifecycleEvents[K]) => void): void;
}

/** A listener that throws is reported as `internal-error` and never breaks the emitter. */
export function createEvents(): Events {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    emit(name, payload) {
      for (const listener of emitter.listeners(name)) {
        try {
          listener(payload);
        } catch (error) {
          if (name !== 'internal-error') emitter.emit('internal-error', { where: `listener of ${name}`, error });
        }
      }
    },
    on: (name, listener) => void emitter.on(name, listener),
    off: (name, listener) => void emitter.off(name, listener),
  };
}
