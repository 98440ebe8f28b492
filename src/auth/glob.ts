/**
 * Names and globs of a policy: `*` matches any run of characters (none included, `/` included);
 * every other character is itself. No regular expression is built, so a glob cannot inject one,
 * and a match costs one pass over the name.
 */

export interface Glob {
  readonly source: string;
  test(name: string): boolean;
}

export function compileGlob(source: string): Glob {
  const parts = source.split('*');
  if (parts.length === 1) return { source, test: (name) => name === source };
  const first = parts[0]!;
  const last = parts.at(-1)!;
  const middle = parts.slice(1, -1).filter((part) => part !== '');
  const shortest = parts.reduce((sum, part) => sum + part.length, 0);
  return {
    source,
    test(name) {
      if (name.length < shortest || !name.startsWith(first) || !name.endsWith(last)) return false;
      // Each middle part at its leftmost place leaves the most room for the rest.
      const end = name.length - last.length;
      let at = first.length;
      for (const part of middle) {
        const found = name.indexOf(part, at);
        if (found < 0 || found + part.length > end) return false;
        at = found + part.length;
      }
      return true;
    },
  };
}
