/**
 * What a stdio server's bridge says of its sessions and processes (its own /status), read over
 * loopback when /status or /metrics is asked, at most once per READ_INTERVAL_MS, with a short
 * timeout: a bridge that does not answer leaves its server's stdio figures out, nothing more.
 */
import type { BridgeStatus } from '../bridge/server.js';
import { bridgeKeyHeaders } from '../supervisor/bridge-key.js';
import { CHILD_HOST } from '../supervisor/ports.js';

const READ_TIMEOUT_MS = 1000;
const READ_INTERVAL_MS = 250;

export interface BridgedServer {
  readonly name: string;
  readonly transport?: 'http' | 'stdio';
  readonly port: number | null;
  readonly pid: number | null;
}

export type BridgeStatusReader = () => Promise<Map<string, BridgeStatus>>;

export function createBridgeStatusReader(servers: () => readonly BridgedServer[]): BridgeStatusReader {
  let last: { at: number; result: Promise<Map<string, BridgeStatus>> } | undefined;
  return () => {
    const now = Date.now();
    if (last && now - last.at < READ_INTERVAL_MS) return last.result;
    const result = readAll(servers().filter((s) => s.transport === 'stdio' && s.port !== null && s.pid !== null));
    last = { at: now, result };
    return result;
  };
}

async function readAll(bridged: readonly BridgedServer[]): Promise<Map<string, BridgeStatus>> {
  const statuses = new Map<string, BridgeStatus>();
  await Promise.all(bridged.map(async (server) => {
    try {
      const res = await fetch(`http://${CHILD_HOST}:${server.port}/status`, { headers: bridgeKeyHeaders(server.port!), signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
      if (res.ok) statuses.set(server.name, (await res.json()) as BridgeStatus);
    } catch {
      // Starting, stopping or stuck: its figures are left out of this read.
    }
  }));
  return statuses;
}
