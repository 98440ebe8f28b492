/**
 * Matching a path to a route: longest prefix on whole segments, and the prefix strip. The path
 * has passed proxy/request-target.ts's checks first.
 */

export interface PrefixMatch<R> {
  readonly route: R;
  /** The path the child sees: the prefix removed, the query kept; always starts with "/". */
  readonly childUrl: string;
}

export interface PrefixMatcher<R> {
  readonly routes: readonly R[];
  match(path: string, query: string): PrefixMatch<R> | undefined;
}

/** Builds the matcher once; routes are tried longest prefix first. */
export function createPrefixMatcher<R extends { readonly prefix: string }>(routes: readonly R[]): PrefixMatcher<R> {
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
