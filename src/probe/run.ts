/** Runs one probe of whichever kind the config names. Never throws. */
import type { ProbeConfig, ProbeKind } from '../config/schema.js';
import { probeHttp } from './http.js';
import { probeMcp } from './mcp.js';
import { unknown, type ProbeResult } from './result.js';
import { probeTcp } from './tcp.js';

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

export function probeKindOf(probe: ProbeConfig): ProbeKind {
  if (probe.httpGet) return 'httpGet';
  if (probe.mcp) return 'mcp';
  return 'tcpSocket';
}

export async function runProbe(probe: ProbeConfig, target: ProbeTarget): Promise<ProbeResult> {
  try {
    if (probe.httpGet) return await probeHttp(target, probe.httpGet, probe.timeoutSeconds);
    if (probe.mcp) return await probeMcp(target, probe.mcp, probe.timeoutSeconds);
    return await probeTcp(target, probe.timeoutSeconds);
  } catch (error) {
    return unknown(`prober error: ${(error as Error)?.message ?? String(error)}`);
  }
}
