/**
 * Routing: longest prefix on whole segments, prefix strip, and the path checks that refuse any
 * path which normalisation would change. A refused path is never rewritten into another route.
 */

export interface Route {
  readonly prefix: string;
  readonly server: string;
}

export interface RouteMatch {
  readonly route: Route;
  /** The path the child sees: the prefix removed, the query kept; always starts with "/". */
  readonly childUrl: string;
}

export type PathCheck = { readonly ok: true; readonly path: string; readonly query: string } | { readonly ok: false; readonly reason: string };

const ENCODED_FORBIDDEN = new Set(['2f', '2F', '5c', '5C', '2e', '2E', '00']);

/**
 * Splits a request target into path and query, refusing what a normaliser would change:
 * anything but origin-form, `.` and `..` segments, empty segments, a backslash, and an encoded
 * `/`, `\`, `.` or NUL.
 */
export function checkRequestTarget(target: string): PathCheck {
  if (target.charCodeAt(0) !== 47 /* / */) return { ok: false, reason: 'the request target must be a path starting with "/"' };
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  let segmentStart = 1;
  for (let i = 1; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 47;
    if (c === 92 /* \ */) return { ok: false, reason: 'the path holds a backslash' };
    if (c === 37 /* % */ && ENCODED_FORBIDDEN.has(path.slice(i + 1, i + 3))) {
      return { ok: false, reason: 'the path holds an encoded "/", "\\", "." or NUL' };
    }
    if (c === 47) {
      const length = i - segmentStart;
      if (length === 0 && i < path.length) return { ok: false, reason: 'the path holds an empty segment ("//")' };
      if ((length === 1 || length === 2) && isDotSegment(path, segmentStart, length)) {
        return { ok: false, reason: 'the path holds a "." or ".." segment' };
      }
      segmentStart = i + 1;
    }
  }
  return { ok: true, path, query };
}

function isDotSegment(path: string, start: number, length: number): boolean {
  return path.charCodeAt(start) === 46 && (length === 1 || path.charCodeAt(start + 1) === 46);
}

export interface RouteTable {
  readonly routes: readonly Route[];
  match(path: string, query: string): RouteMatch | undefined;
}

/** Builds the matcher once; routes are tried longest prefix first. */
export function createRouteTable(routes: readonly Route[]): RouteTable {
  const ordered = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  return {
    routes: ordered,
    match(path, query) {
      for (const route of ordered) {
        const rest = stripPrefix(route.prefix, path);
        if (rest !== undefined) return { route, childUrl: rest + query };
      }
      return undefined;
    },
  };
}

/** The path after the prefix, or undefined when the prefix does not match on whole segments. */
export function stripPrefix(prefix: string, path: string): string | undefined {
  if (prefix === '/') return path;
  if (!path.startsWith(prefix)) return undefined;
  if (path.length === prefix.length) return '/';
  return path.charCodeAt(prefix.length) === 47 ? path.slice(prefix.length) : undefined;
}
