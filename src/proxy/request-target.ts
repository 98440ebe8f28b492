/**
 * The path checks that refuse any request target which normalisation would change. A refused
 * path is never rewritten into another route.
 */

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
