/**
 * A Prometheus counter for a hot path: counted per request into a map per label (nested in label
 * order), and handed to prom-client at scrape time. prom-client's own inc() hashes its labels on
 * every call, which costs a proxied request more than anything it counts.
 */
import { Counter, type Registry } from 'prom-client';

export interface Tally<L extends readonly string[]> {
  /** Counts one, under these label values (in the order of `labelNames`). */
  count(...values: { [K in keyof L]: string }): void;
}

type Level = Map<string, Level | number>;

export function createTally<const L extends readonly string[]>(options: { name: string; help: string; labelNames: L; registers: Registry[] }): Tally<L> {
  const { name, help, labelNames, registers } = options;
  const root: Level = new Map();
  const depth = labelNames.length;
  new Counter({
    name,
    help,
    labelNames: [...labelNames],
    registers,
    collect() {
      this.reset();
      const walk = (level: Level, values: string[]) => {
        for (const [value, next] of level) {
          const at = [...values, value];
          if (typeof next === 'number') this.inc(Object.fromEntries(labelNames.map((label, i) => [label, at[i]!])) as Partial<Record<L[number], string>>, next);
          else walk(next, at);
        }
      };
      walk(root, []);
    },
  });
  return {
    count(...values) {
      let level = root;
      for (let i = 0; i < depth - 1; i++) {
        let next = level.get(values[i]!) as Level | undefined;
        if (!next) level.set(values[i]!, (next = new Map()));
        level = next;
      }
      const last = values[depth - 1]!;
      level.set(last, ((level.get(last) as number | undefined) ?? 0) + 1);
    },
  };
}
