/**
 * `mcp`: a real MCP exchange over streamable HTTP, negotiated as the SDKs' clients do.
 * 1. `server/discover` at the 2026-07-28 revision (its headers and `_meta`): stateless, so nothing
 *    is left behind. A result that lists 2026-07-28 passes.
 * 2. Anything else short of a network failure (an HTTP 4xx, a JSON-RPC error, a result without a
 *    modern version) is what an older server answers: the handshake follows, `initialize`, then
 *    `ping`, then the session is ended (DELETE) so that probing leaks nothing.
 * A `-32022` naming only modern versions that this probe does not speak fails at once: it is a
 * real incompatibility, not an older server. Everything shares one deadline: a child that answers
 * the handshake but hangs on DELETE fails the probe.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ProbeConfig } from '../config/schema.js';
import { failure, resultFromError, success, type ProbeResult } from './result.js';
import type { ProbeTarget } from './result.js';

type McpSpec = NonNullable<ProbeConfig['mcp']>;

/** The stateless revision, and the JSON-RPC code a server uses to name the revisions it speaks. */
export const MODERN_VERSION = '2026-07-28';
const UNSUPPORTED_PROTOCOL_VERSION = -32022;
const HANDSHAKE_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

/**
 * Endpoints last found to speak only the handshake: their next probe goes straight to it, as a
 * client negotiates once per connection, instead of a refused `server/discover` every period.
 * Any failure forgets the endpoint, so a server that changed is negotiated afresh.
 */
const handshakeOnly = new Set<string>();
/** `port: auto` gives every process a new port, so entries of ended processes pile up: a bound. */
const MAX_REMEMBERED = 256;

export async function probeMcp(target: ProbeTarget, spec: McpSpec, timeoutSeconds: number): Promise<ProbeResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutSeconds * 1000);
  const url = `http://${target.host}:${target.port}${spec.path}`;
  let result: ProbeResult;
  try {
    const discovered = handshakeOnly.has(url) ? ({ kind: 'legacy' } as const) : await discover(url, controller.signal);
    if (discovered.kind === 'modern') result = success(`MCP ${discovered.name} answered server/discover (${MODERN_VERSION})`);
    else if (discovered.kind === 'incompatible') result = failure(discovered.message);
    else {
      result = await handshake(url, controller.signal, timeoutSeconds);
      if (handshakeOnly.size >= MAX_REMEMBERED) handshakeOnly.clear();
      handshakeOnly.add(url);
    }
  } catch (error) {
    result = resultFromError(error, controller.signal.aborted, timeoutSeconds);
  } finally {
    clearTimeout(timer);
  }
  if (result.outcome !== 'success') handshakeOnly.delete(url);
  return result;
}

type Discovery = { kind: 'modern'; name: string } | { kind: 'legacy' } | { kind: 'incompatible'; message: string };

/** One `server/discover`. Throws on a network failure or the deadline, which are never a verdict on the era. */
async function discover(url: string, signal: AbortSignal): Promise<Discovery> {
  const res = await fetch(url, {
    method: 'POST',
    signal,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'user-agent': 'mcpmux-probe',
      'mcp-protocol-version': MODERN_VERSION,
      'mcp-method': 'server/discover',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'server/discover',
      params: {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
          'io.modelcontextprotocol/clientInfo': { name: 'mcpmux-probe', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  });
  const message = parseMessage(await res.text());
  const supported = message?.result?.supportedVersions;
  if (res.ok && Array.isArray(supported) && supported.includes(MODERN_VERSION)) {
    return { kind: 'modern', name: typeof message?.result?.serverInfo?.name === 'string' ? message.result.serverInfo.name : 'server' };
  }
  const named = message?.error?.code === UNSUPPORTED_PROTOCOL_VERSION ? message.error.data?.supported : undefined;
  if (Array.isArray(named) && !named.includes(MODERN_VERSION) && !named.some((v) => HANDSHAKE_VERSIONS.includes(String(v)))) {
    return { kind: 'incompatible', message: `the server speaks only ${named.join(', ')}; this probe speaks ${MODERN_VERSION} and the handshake` };
  }
  return { kind: 'legacy' };
}

interface Message {
  result?: { supportedVersions?: unknown; serverInfo?: { name?: unknown } };
  error?: { code?: unknown; data?: { supported?: unknown[] } };
}

/** The JSON-RPC message in a JSON or SSE body, or undefined. */
function parseMessage(body: string): Message | undefined {
  const text = body.trimStart().startsWith('{') ? body : body.split('\n').find((line) => line.startsWith('data:') && line.includes('"jsonrpc"'))?.slice(5);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as Message;
  } catch {
    return undefined;
  }
}

/** The initialize handshake, a ping, and DELETE, with the SDK's client. */
async function handshake(url: string, signal: AbortSignal, timeoutSeconds: number): Promise<ProbeResult> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { 'user-agent': 'mcpmux-probe' }, signal } });
  const client = new Client({ name: 'mcpmux-probe', version: '1' });
  const options = { signal, timeout: timeoutSeconds * 1000 };
  try {
    await client.connect(transport, options);
    await client.ping(options);
    await untilAborted(transport.terminateSession(), signal);
    return success(`MCP ${client.getServerVersion()?.name ?? 'server'} answered ping`);
  } finally {
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
