/** Runs one probe of whichever kind the config names. Never throws, never outlives its timeout. */
import type { ProbeConfig, ProbeKind } from '../config/schema.js';
import { failure, unknown, type ProbeResult, type ProbeTarget } from './result.js';
import { probeTcp } from './tcp.js';

export type { ProbeTarget } from './result.js';

export function probeKindOf(probe: ProbeConfig): ProbeKind {
  if (probe.httpGet) return 'httpGet';
  if (probe.mcp) return 'mcp';
  return 'tcpSocket';
}

/**
 * The httpGet runner (undici) and the mcp runner (the MCP SDK client) cost ~10 and ~27 MB of RSS:
 * each is loaded when a probe of its kind first runs, so a config without them never pays.
 */
let httpRunner: Promise<typeof import('./http.js').probeHttp> | undefined;
let mcpRunner: Promise<typeof import('./mcp.js').probeMcp> | undefined;

/** Each runner keeps its own timeout; this outer one catches a runner that forgets to. */
const DEADLINE_SLACK_MS = 500;

export function runProbe(probe: ProbeConfig, target: ProbeTarget): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(failure(`timed out after ${probe.timeoutSeconds}s`)), probe.timeoutSeconds * 1000 + DEADLINE_SLACK_MS);
    void runKind(probe, target).then((result) => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}

async function runKind(probe: ProbeConfig, target: ProbeTarget): Promise<ProbeResult> {
  try {
    if (probe.httpGet) {
      httpRunner ??= import('./http.js').then((m) => m.probeHttp);
      return await (await httpRunner)(target, probe.httpGet, probe.timeoutSeconds);
    }
    if (probe.mcp) {
      mcpRunner ??= import('./mcp.js').then((m) => m.probeMcp);
      return await (await mcpRunner)(target, probe.mcp, probe.timeoutSeconds);
    }
    return await probeTcp(target, probe.timeoutSeconds);
  } catch (error) {
    return unknown(`prober error: ${(error as Error)?.message ?? String(error)}`);
  }
}
