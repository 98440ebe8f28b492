/**
 * Every error mcpmux raises internally, each with a stable `code`.
 * None of these reach a client as they are: `proxy/errors.ts` decides what a client sees.
 */

export type ErrorCode =
  | 'MCPMUX_ERR_CONFIG'
  | 'MCPMUX_ERR_USAGE'
  | 'MCPMUX_ERR_SPAWN'
  | 'MCPMUX_ERR_PORT'
  | 'MCPMUX_ERR_LISTEN'
  | 'MCPMUX_ERR_UPSTREAM'
  | 'MCPMUX_ERR_KEY_SET'
  | 'MCPMUX_ERR_TRACING';

export class McpmuxError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem in a config file, at a dotted path such as `servers.math.prefix`. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/** A config that failed validation. Carries every problem at once, never just the first. */
export class ConfigError extends McpmuxError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super('MCPMUX_ERR_CONFIG', formatProblems(problems), options);
    this.problems = problems;
  }
}

/** Wrong command-line words. */
export class UsageError extends McpmuxError {
  constructor(message: string) {
    super('MCPMUX_ERR_USAGE', message);
  }
}

/** A child process could not be started at all (missing command, bad cwd). */
export class SpawnError extends McpmuxError {
  constructor(server: string, options?: { cause?: unknown }) {
    super('MCPMUX_ERR_SPAWN', `server ${server}: the process could not be started`, options);
  }
}

/** No free loopback port could be had. */
export class PortError extends McpmuxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MCPMUX_ERR_PORT', message, options);
  }
}

/** A listener of mcpmux itself could not bind: fatal, exit code 1. */
export class ListenError extends McpmuxError {
  constructor(listener: string, address: string, options?: { cause?: unknown }) {
    super('MCPMUX_ERR_LISTEN', `the ${listener} listener could not bind ${address}`, options);
  }
}

export type UpstreamErrorKind = 'connect' | 'reset' | 'timeout' | 'other';

/** Forwarding to a child failed. `kind` drives the status a client sees. */
export class UpstreamError extends McpmuxError {
  readonly kind: UpstreamErrorKind;
  constructor(kind: UpstreamErrorKind, options?: { cause?: unknown }) {
    super('MCPMUX_ERR_UPSTREAM', `upstream ${kind} error`, options);
    this.kind = kind;
  }
}

export type KeySetFetchKind = 'jwks' | 'discovery';

/**
 * An authorization server's keys could not be had: its key set or its metadata did not answer, or
 * answered nonsense, or a failure moments ago has not been retried yet. Not the token's fault: the
 * proxy answers 503 with `Retry-After: retryAfterSeconds`, never 401.
 */
export class KeySetError extends McpmuxError {
  readonly issuer: string;
  readonly kind: KeySetFetchKind;
  readonly retryAfterSeconds: number;
  constructor(issuer: string, kind: KeySetFetchKind, message: string, retryAfterSeconds: number, options?: { cause?: unknown }) {
    super('MCPMUX_ERR_KEY_SET', `${kind === 'jwks' ? 'key set' : 'metadata'} of ${issuer}: ${message}`, options);
    this.issuer = issuer;
    this.kind = kind;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The tracing SDK could not be loaded or made: mcpmux goes on without traces, and says so. */
export class TracingError extends McpmuxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MCPMUX_ERR_TRACING', message, options);
  }
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('\n');
}
