/**
 * The metrics of sessions across pods (cluster/): what became of each request for a session of
 * another pod, and how long the relay to its owner took. A relayed request is counted in the
 * request metrics of its owner pod only, where a process of the server answered it, so that
 * summing mcpmux_requests_total over pods counts each client request once.
 */
import type { Registry } from 'prom-client';
import type { Events } from '../events.js';
import { DURATION_BUCKETS } from './metric-bounds.js';
import { SeriesHistogram, type HistogramSeries } from './histogram.js';
import { createTally } from './tally.js';

export function registerClusterMetrics(registers: Registry[], events: Events): void {
  const forwarded = createTally({
    name: 'mcpmux_sessions_forwarded_total',
    help: 'Requests for a session of another pod, by result: forwarded (relayed to its owner, which answered), owner_gone (the owner could not be reached: 404), bad_seal (an id no pod with the key made: 404, no connection), owner_refused (sealed, but its owner is outside cluster.peers: 404, no connection), loop (a relayed request reached a pod that does not own it: 508).',
    labelNames: ['server', 'result'],
    registers,
  });
  const duration = new SeriesHistogram('mcpmux_forward_duration_seconds', "Time from relaying a request to its session's owner pod to the owner's response headers (the hop, and the owner's own time to answer).", DURATION_BUCKETS, registers);
  const perServer = new Map<string, HistogramSeries>();
  events.on('session-relay', ({ server, result }) => forwarded.count(server, result));
  events.on('request-finished', ({ server, owner, firstByteMs }) => {
    if (owner === undefined || firstByteMs === undefined) return;
    let series = perServer.get(server);
    if (!series) perServer.set(server, (series = duration.series({ server })));
    series.observe(firstByteMs / 1000);
  });
}
