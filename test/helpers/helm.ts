/**
 * Renders the chart: with `helm template` when helm is on PATH, else with test/helm/render.go,
 * the same engine (text/template + sprig + Helm's functions) built from Debian's Go packages,
 * which can also pretend objects are in the cluster for `lookup` (renderUpgrade).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ensureDebianCommand, ensureDebianPaths } from './debian.js';
import { makeTempDir, ROOT } from './paths.js';

export const CHART = path.join(ROOT, 'deploy/helm/mcpmux');

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

let renderer: { helm?: string; render?: string } | undefined;

function setUp(): { helm?: string; render?: string } {
  if (renderer) return renderer;
  const helm = spawnSync('sh', ['-c', 'command -v helm'], { encoding: 'utf8' });
  if (helm.status === 0) return (renderer = { helm: helm.stdout.trim() });
  const go = ensureDebianCommand('go', 'golang-go');
  ensureDebianPaths({
    'golang-github-masterminds-sprig-dev': '/usr/share/gocode/src/github.com/Masterminds/sprig/functions.go',
    'golang-gopkg-yaml.v3-dev': '/usr/share/gocode/src/gopkg.in/yaml.v3/yaml.go',
  });
  const out = path.join(makeTempDir('mcpmux-render-'), 'render');
  execFileSync(go, ['build', '-o', out, path.join(ROOT, 'test/helm/render.go')], {
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: path.join(tmpdir(), 'mcpmux-gocache'), GOFLAGS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 300_000,
  });
  return (renderer = { render: out });
}

/** Writes values (an object) to a temp file, for --values. */
function valuesFile(values: unknown): string {
  const file = path.join(makeTempDir('mcpmux-values-'), 'values.yaml');
  writeFileSync(file, stringify(values));
  return file;
}

/** Renders the chart's manifests with extra values layered over values.yaml. */
export function renderChart(...overrides: unknown[]): Manifest[] {
  const { helm, render } = setUp();
  const valueArgs = overrides.flatMap((v) => ['--values', valuesFile(v)]);
  const text = helm
    ? execFileSync(helm, ['template', 'release-name', CHART, ...valueArgs], { encoding: 'utf8' })
    : execFileSync(render!, ['--chart', CHART, ...valueArgs], { encoding: 'utf8' });
  return parseManifests(text);
}

/**
 * Renders the chart as an upgrade sees it: `lookup` finds `existing` (objects already in the
 * cluster). Only test/helm/render.go can pretend a cluster; undefined when helm renders instead.
 */
export function renderUpgrade(existing: unknown[], ...overrides: unknown[]): Manifest[] | undefined {
  const { render } = setUp();
  if (!render) return undefined;
  const objects = path.join(makeTempDir('mcpmux-existing-'), 'objects.yaml');
  writeFileSync(objects, existing.map((o) => stringify(o)).join('---\n'));
  const valueArgs = overrides.flatMap((v) => ['--values', valuesFile(v)]);
  return parseManifests(execFileSync(render, ['--chart', CHART, '--existing', objects, ...valueArgs], { encoding: 'utf8' }));
}

function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** Renders NOTES.txt. */
export function renderNotes(...overrides: unknown[]): string {
  const { helm, render } = setUp();
  const valueArgs = overrides.flatMap((v) => ['--values', valuesFile(v)]);
  if (helm) {
    const out = execFileSync(helm, ['install', 'release-name', CHART, '--dry-run', ...valueArgs], { encoding: 'utf8' });
    return out.slice(out.indexOf('NOTES:') + 6);
  }
  return execFileSync(render!, ['--chart', CHART, '--notes', ...valueArgs], { encoding: 'utf8' });
}

/** values.yaml with overrides layered on, as Helm merges them (maps merge, null removes a key). */
export function mergedValues(...overrides: unknown[]): unknown {
  const base = parse(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  return overrides.reduce<Record<string, unknown>>((acc, o) => mergeValues(acc, o as Record<string, unknown>), base);
}

function mergeValues(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = mergeValues(out[key] as Record<string, unknown>, value);
    else out[key] = value;
  }
  return out;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `helm lint --strict`, when helm is there; undefined otherwise. */
export function lintChart(): { status: number | null; output: string } | undefined {
  const { helm } = setUp();
  if (!helm) return undefined;
  const result = spawnSync(helm, ['lint', '--strict', CHART], { encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}
