/**
 * `mcp`: a real MCP handshake over streamable HTTP: `initialize`, then `ping`, then the session
 * is ended (DELETE) so that probing leaks nothing in the child. All three share one deadline: a
 * child that answers the handshake but hangs on DELETE fails the probe.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ProbeConfig } from '../config/schema.js';
import { resultFromError, success, type ProbeResult } from './result.js';
import type { ProbeTarget } from './run.js';

type McpSpec = NonNullable<ProbeConfig['mcp']>;

export async function probeMcp(target: ProbeTarget, spec: McpSpec, timeoutSeconds: number): Promise<ProbeResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutSeconds * 1000);
  const transport = new StreamableHTTPClientTransport(new URL(`http://${target.host}:${target.port}${spec.path}`), {
    requestInit: { headers: { 'user-agent': 'mcpmux-probe' }, signal: controller.signal },
  });
  const client = new Client({ name: 'mcpmux-probe', version: '1' });
  const options = { signal: controller.signal, timeout: timeoutSeconds * 1000 };
  try {
    await client.connect(transport, options);
    await client.ping(options);
    await untilAborted(transport.terminateSession(), controller.signal);
    return success(`MCP ${client.getServerVersion()?.name ?? 'server'} answered ping`);
  } catch (error) {
    return resultFromError(error, controller.signal.aborted, timeoutSeconds);
  } finally {
    clearTimeout(timer);
    // Closing aborts whatever the transport still has under way; it is not waited for.
    void client.close().catch(() => undefined);
  }
}

/** The SDK's DELETE does not take our signal: race it against the deadline. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
