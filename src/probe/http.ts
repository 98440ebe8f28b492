/**
 * `httpGet`: the probe passes on a status from 200 to 399, as in Kubernetes.
 * Only the status line and headers are awaited; the body is discarded, so an SSE answer cannot hang it.
 */
import { request } from 'undici';
import type { ProbeConfig } from '../config/schema.js';
import { failure, resultFromError, success, type ProbeResult } from './result.js';
import type { ProbeTarget } from './result.js';

type HttpGetSpec = NonNullable<ProbeConfig['httpGet']>;

export async function probeHttp(target: ProbeTarget, spec: HttpGetSpec, timeoutSeconds: number): Promise<ProbeResult> {
  const signal = AbortSignal.timeout(timeoutSeconds * 1000);
  const headers: Record<string, string> = { 'user-agent': 'mcpmux-probe', accept: '*/*' };
  for (const { name, value } of spec.httpHeaders) headers[name.toLowerCase()] = value;
  if (target.headers) Object.assign(headers, target.headers);
  try {
    const response = await request(`http://${target.host}:${target.port}${spec.path}`, {
      method: 'GET',
      headers,
      signal,
      reset: true,
    });
    response.body.on('error', () => undefined).destroy();
    const status = response.statusCode;
    return status >= 200 && status < 400 ? success(`HTTP ${status}`) : failure(`HTTP ${status}`);
  } catch (error) {
    return resultFromError(error, signal.aborted, timeoutSeconds);
  }
}
