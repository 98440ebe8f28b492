/**
 * DNS-rebinding protection at the edge: the `Host` and `Origin` a public request may carry.
 * Bound to loopback with no lists set, only localhost, 127.0.0.1 and [::1] (any port) pass.
 * Bound to another address with no lists set, any Host and Origin pass.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface HostGuardConfig {
  readonly host: string;
  readonly allowedHosts?: readonly string[] | undefined;
  readonly allowedOrigins?: readonly string[] | undefined;
}

export type HostVerdict = 'ok' | 'Host' | 'Origin';

export type HostGuard = (headers: IncomingHttpHeaders) => HostVerdict;

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopbackAddress(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || bare.startsWith('127.');
}

export function createHostGuard(config: HostGuardConfig): HostGuard {
  const loopbackDefault = isLoopbackAddress(config.host);
  const hostRule = config.allowedHosts ?? (loopbackDefault ? LOOPBACK_NAMES : undefined);
  const originRule = config.allowedOrigins ?? (loopbackDefault ? LOOPBACK_NAMES.flatMap((n) => [`http://${n}`, `https://${n}`]) : undefined);
  const hostAllowed = hostRule ? compileHostRule(hostRule) : undefined;
  const originAllowed = originRule ? compileOriginRule(originRule, config.allowedOrigins === undefined) : undefined;
  const checkHost = (host: string | undefined) => (host === undefined || isValidHost(host)) && (!hostAllowed || hostAllowed(host));
  const checkOrigin = (origin: string) => !originAllowed || originAllowed(origin);
  // Clients send the same few Host and Origin values over and over: remember the verdicts.
  const hosts = remembered(checkHost);
  const origins = remembered(checkOrigin);
  return (headers) => {
    if (!hosts(headers.host)) return 'Host';
    const origin = headers.origin;
    if (origin !== undefined && !origins(origin)) return 'Origin';
    return 'ok';
  };
}

/** A pure string check, with its recent answers kept (bounded: cleared when full). */
function remembered<T extends string | undefined>(check: (value: T) => boolean, size = 256): (value: T) => boolean {
  const seen = new Map<T, boolean>();
  return (value) => {
    let verdict = seen.get(value);
    if (verdict === undefined) {
      verdict = check(value);
      if (seen.size >= size) seen.clear();
      seen.set(value, verdict);
    }
    return verdict;
  };
}

/** Host entries: `name` (any port), `name:port` (that port), `*.example.com` (subdomains), `*` (any). */
function compileHostRule(entries: readonly string[]): (host: string | undefined) => boolean {
  if (entries.includes('*')) return () => true;
  const exact = new Set<string>();
  const anyPort = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of entries) {
    const entry = raw.toLowerCase();
    if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
    else if (splitHost(entry).port !== undefined) exact.add(entry);
    else anyPort.add(entry);
  }
  return (host) => {
    if (!host) return false;
    const value = host.toLowerCase();
    if (exact.has(value)) return true;
    const { name } = splitHost(value);
    return anyPort.has(name) || suffixes.some((suffix) => name.endsWith(suffix));
  };
}

/**
 * Origin entries: full origins (`https://app.example.com`), or `*`. With `portless`, an entry
 * matches its origin on any port (the loopback default).
 */
function compileOriginRule(entries: readonly string[], portless: boolean): (origin: string) => boolean {
  if (entries.includes('*')) return () => true;
  const allowed = new Set(entries.map((e) => e.toLowerCase().replace(/\/$/, '')));
  return (origin) => {
    const value = origin.toLowerCase();
    if (allowed.has(value)) return true;
    if (!portless) return false;
    const schemeEnd = value.indexOf('://');
    if (schemeEnd === -1) return false;
    const { name } = splitHost(value.slice(schemeEnd + 3));
    return allowed.has(value.slice(0, schemeEnd + 3) + name);
  };
}

const HOST_SYNTAX = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** A Host header that is a plain name or address with an optional numeric port, nothing more. */
export function isValidHost(host: string): boolean {
  return HOST_SYNTAX.test(host);
}

/** Splits `name[:port]`, where name may be a bracketed IPv6 address. */
export function splitHost(value: string): { name: string; port: string | undefined } {
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close === -1) return { name: value, port: undefined };
    return { name: value.slice(0, close + 1), port: value[close + 1] === ':' ? value.slice(close + 2) : undefined };
  }
  const colon = value.lastIndexOf(':');
  return colon === -1 ? { name: value, port: undefined } : { name: value.slice(0, colon), port: value.slice(colon + 1) };
}

/** True when the request carries more than one Host line (Node's parser keeps the first and says nothing). */
export function hasRepeatedHost(rawHeaders: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}
