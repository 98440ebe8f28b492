/** Reads one sample from Prometheus text format: `name{a="1",b="2"} value`, labels in any order. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const seen: Record<string, string> = {};
    if (open === name.length) {
      for (const m of line.slice(open + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) seen[m[1]!] = m[2]!;
    }
    if (Object.entries(labels).every(([k, v]) => seen[k] === v)) {
      return Number(line.slice((open === name.length ? close : name.length) + 1).trim().split(' ')[0]);
    }
  }
  return undefined;
}

export async function scrape(adminUrl: string): Promise<string> {
  const res = await fetch(`${adminUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}
