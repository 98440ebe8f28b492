/**
 * The bench's session-aware load generator: raw MCP over streamable HTTP with undici, the same for
 * every target that keeps sessions (the stdio row's peers, the cluster row's pods). A session is
 * opened with initialize and notifications/initialized, then calls tools/call `add` in a loop, and
 * each answer is checked against its own request (a wrong or missing result is an error).
 */
import { Agent, request } from 'undici';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** One pool for every target: each session's calls run one at a time, so a session holds one connection. */
const dispatcher = new Agent({ connections: 64, pipelining: 1 });

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** The JSON-RPC message in a response body, JSON or SSE. */
function messageOf(body: string): { result?: unknown; error?: unknown } {
  const text = body.trimStart().startsWith('{') ? body : (body.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).find((d) => d.includes('"id"')) ?? '{}');
  return JSON.parse(text) as { result?: unknown; error?: unknown };
}

export class Session {
  #id = 1;
  constructor(readonly url: string, readonly headers: Readonly<Record<string, string>>) {}

  /** The id the server (or mcpmux, sealed) gave this session. */
  get id(): string {
    return this.headers['mcp-session-id']!;
  }

  static async open(url: string): Promise<Session> {
    const init = await request(url, {
      method: 'POST',
      headers: HEADERS,
      dispatcher,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }),
    });
    const body = await init.body.text();
    const id = init.headers['mcp-session-id'];
    if (init.statusCode !== 200 || typeof id !== 'string' || !messageOf(body).result) throw new Error(`initialize: ${init.statusCode} ${body.slice(0, 200)}`);
    const headers = { ...HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
    const notified = await request(url, { method: 'POST', headers, dispatcher, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    await notified.body.dump();
    return new Session(url, headers);
  }

  /** One tools/call; true when it answered 200 with this call's own result. */
  async call(): Promise<boolean> {
    const id = this.#id++;
    const res = await request(this.url, { method: 'POST', headers: this.headers, dispatcher, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'add', arguments: { a: id, b: 1 } } }) });
    const body = await res.body.text();
    return res.statusCode === 200 && JSON.stringify(messageOf(body).result ?? '').includes(`"text":"${id + 1}"`);
  }

  async close(): Promise<void> {
    const res = await request(this.url, { method: 'DELETE', headers: this.headers, dispatcher });
    await res.body.dump();
  }
}

export interface DriveResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly calls: number;
  readonly errors: number;
}

/** Calls in a loop on each session, all at once, for `seconds`: req/s over all, p50 and p99 of every call. */
export async function driveSessions(sessions: readonly Session[], seconds: number): Promise<DriveResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(sessions.map(async (session) => {
    while (performance.now() < deadline) {
      const t = performance.now();
      if (!(await session.call().catch(() => false))) errors += 1;
      latencies.push(performance.now() - t);
    }
  }));
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? NaN;
  return { rps: latencies.length / ((performance.now() - started) / 1000), p50: at(0.5), p99: at(0.99), calls: latencies.length, errors };
}
