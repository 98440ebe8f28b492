/**
 * One JSON document an authorization server publishes (its metadata, its key set), fetched the one
 * way mcpmux fetches them: a GET with no redirect followed, a deadline on the whole exchange, and a
 * bound on the body, which is never read past it. A failure is thrown as an Error whose message
 * names the URL and what went wrong, never the document's content.
 */

/** The fetch mcpmux uses (Node's, which is undici's); tests pass their own only to count calls. */
export type Fetch = typeof fetch;

export interface DocumentFetch {
  readonly fetch: Fetch;
  /** The whole exchange, headers and body, within this. */
  readonly timeoutMs: number;
  /** A body past this is refused, and not read further. */
  readonly maxBytes: number;
  /** Aborts the fetch early (mcpmux closing). */
  readonly signal?: AbortSignal | undefined;
  readonly accept?: string;
}

export async function fetchJsonDocument(url: URL | string, options: DocumentFetch): Promise<unknown> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  try {
    const response = await options.fetch(url, {
      method: 'GET',
      redirect: 'manual',
      signal,
      headers: { accept: options.accept ?? 'application/json', 'user-agent': 'mcpmux' },
    });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw new Error(`answered HTTP ${response.status}`);
    }
    const text = await readBounded(response, options.maxBytes);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error('answered with something that is not JSON');
    }
  } catch (cause) {
    throw new Error(`${String(url)}: ${describeFailure(cause, options.timeoutMs)}`, { cause });
  }
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`answered ${declared} bytes, more than the ${maxBytes} accepted`);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new Error(`answered more than the ${maxBytes} bytes accepted`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFailure(cause: unknown, timeoutMs: number): string {
  const error = cause as { name?: string; message?: string; cause?: { code?: string } } | undefined;
  if (error?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (error?.name === 'AbortError') return 'aborted (mcpmux is closing)';
  if (error instanceof TypeError) return `cannot be reached (${error.cause?.code ?? error.message})`;
  return error?.message ?? String(cause);
}
