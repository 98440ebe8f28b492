/**
 * What mcpmux does of its own that callers wait on, as spans of their own (small on purpose):
 * a rollout of a server onto a new process, from its start to the new process taking over (or
 * the old one kept), a root span `rollout <server>`.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { Events } from '../events.js';

export function traceLifecycle(events: Events, tracer: Tracer): void {
  events.on('rollout-finished', ({ server, trigger, ok, pid, reason, startedAt }) => {
    const span = tracer.startSpan(`rollout ${server}`, {
      kind: SpanKind.INTERNAL,
      ...(startedAt !== undefined && { startTime: startedAt }),
      attributes: { 'mcp.server.name': server, 'mcpmux.rollout.trigger': trigger, ...(pid !== undefined && { 'process.pid': pid }) },
    }, ROOT_CONTEXT);
    if (!ok && span.isRecording()) {
      span.setAttribute('error.type', 'rollout_failed');
      span.setStatus({ code: SpanStatusCode.ERROR, message: reason ?? 'the rollout failed' });
    }
    span.end();
  });
}
