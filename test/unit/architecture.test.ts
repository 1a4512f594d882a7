import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const actionsDir = join(root, 'actions');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Every `import … from '…'` and `export … from '…'` of a file, type-only ones included. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((match) => match[1]!);
}

const files = sources(actionsDir);
const graph = new Map(
  files.map((file) => [
    relative(root, file),
    importsOf(file)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(root, resolve(dirname(file), spec.replace(/\.js$/, '.ts')))),
  ]),
);

function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'visiting') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('the engine’s shape', () => {
  it('reads the sources it checks', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('actions/engine/deploy/deploy.ts')).toContain('actions/engine/deploy/host-link.ts');
  });

  it('has no import circles', () => {
    expect(cycles().map((cycle) => cycle.join(' → '))).toEqual([]);
  });

  it('never talks to the runner: no @actions/core, no edge or entry imports in the engine', () => {
    const offenders = files
      .filter((file) => relative(actionsDir, file).startsWith('engine/'))
      .flatMap((file) =>
        importsOf(file)
          .filter((spec) => spec === '@actions/core' || /(^|\/)\.\.\/(edge|[a-z-]+\/main)\b/.test(spec))
          .map((spec) => `${relative(root, file)} imports ${spec}`),
      );
    expect(offenders).toEqual([]);
  });

  it('keeps each entry thin: index.ts only calls main.ts’s run()', () => {
    for (const action of [
      'release-image',
      'deploy-staging',
      'promote-prod',
      'verify-ready',
      'gitleaks-gate',
    ]) {
      const index = readFileSync(join(actionsDir, action, 'index.ts'), 'utf8');
      expect(index.trim()).toBe("import { run } from './main.js';\n\nvoid run();");
      expect(readFileSync(join(actionsDir, action, 'main.ts'), 'utf8')).toMatch(
        /^export async function run\(\)/m,
      );
    }
  });

  it('declares every package the actions import, and imports every runtime dependency it declares', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const packageOf = (spec: string) =>
      spec
        .split('/')
        .slice(0, spec.startsWith('@') ? 2 : 1)
        .join('/');
    const imported = new Set(
      files
        .flatMap((file) => [
          ...importsOf(file),
          ...[...readFileSync(file, 'utf8').matchAll(/import\('([^']+)'\)/g)].map((m) => m[1]!),
        ])
        .filter((spec) => !spec.startsWith('.') && !spec.startsWith('node:'))
        .map(packageOf),
    );
    expect([...imported].filter((name) => !(name in manifest.dependencies)).sort()).toEqual([]);
    expect(Object.keys(manifest.dependencies).filter((name) => !imported.has(name))).toEqual([]);
  });

  it('keeps types modules free of behaviour: they import types only', () => {
    for (const file of files.filter((f) => relative(actionsDir, f).startsWith('engine/types/'))) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/^import (?!type )/m);
      expect(text, file).not.toMatch(/^export (?:function|class|const)/m);
    }
  });
});
