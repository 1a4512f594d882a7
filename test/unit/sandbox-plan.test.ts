import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';
import { MACHINE_DEBIAN_SOURCES, makeAptRoot, removeAptRoots } from '../support/apt-root.js';

// `scripts/sandbox plan` prints the decisions `up` takes before it installs Docker: the mirror, the apt source file
// it writes (or repairs) and the packages it asks for. Run against sample apt trees, so that the decisions are
// checked even on a machine where Docker is already installed and `up` never takes the install path.

afterAll(removeAptRoots);

// What the sandbox wrote before this fix on this machine kind: the URL taken from the comment line.
const BROKEN_TRIXIE_SOURCES = `Types: deb
URIs: http://snapshot.debian.org/archive/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

function machine(os: { id: string; codename: string }, parts: Record<string, string> = {}): string {
  return makeAptRoot({ os, parts });
}

function plan(root: string, env: Record<string, string> = {}) {
  const run = spawnSync('bash', [`${repoRoot}scripts/sandbox`, 'plan'], {
    encoding: 'utf8',
    env: { ...process.env, DEPLOYER_APT_ROOT: root, DEPLOYER_DEBIAN_MIRROR: '', ...env },
  });
  const field = (key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(run.stdout)?.[1];
  const sourceFile = /^--- .*\n([\s\S]*?)^---$/m.exec(run.stdout)?.[1] ?? '';
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, field, sourceFile };
}

const bookworm = { id: 'debian', codename: 'bookworm' };
const source = (root: string) => `${root}/etc/apt/sources.list.d/trixie.sources`;

describe('scripts/sandbox plan', () => {
  it('on bookworm: a trixie source with the mirror apt uses for bookworm, never a commented URL', () => {
    const root = machine(bookworm, { 'debian.sources': MACHINE_DEBIAN_SOURCES });
    const result = plan(root);
    expect(result.status).toBe(0);
    expect(result.field('mirror')).toBe('http://deb.debian.org/debian');
    expect(result.field('mirror from')).toBe(`apt's source ${root}/etc/apt/sources.list.d/debian.sources:1`);
    expect(result.field('source file')).toBe(`${source(root)}: create`);
    expect(result.sourceFile).toMatch(/^URIs: http:\/\/deb\.debian\.org\/debian$/m);
    expect(result.sourceFile).toMatch(/^Suites: trixie$/m);
    expect(result.sourceFile).not.toContain('snapshot');
    // Only the Docker packages are asked for from trixie; their dependencies come from bookworm where they can.
    expect(result.field('packages')?.trim()).toBe(
      'docker.io/trixie docker-cli/trixie docker-buildx/trixie docker-compose/trixie',
    );
  });

  it('repairs a trixie source written earlier with a wrong URL instead of keeping it because it exists', () => {
    const root = machine(bookworm, {
      'debian.sources': MACHINE_DEBIAN_SOURCES,
      'trixie.sources': BROKEN_TRIXIE_SOURCES,
    });
    const result = plan(root);
    expect(result.field('source file')).toBe(
      `${source(root)}: rewrite (was URIs: http://snapshot.debian.org/archive/debian)`,
    );
    // Nothing is changed by plan.
    expect(readFileSync(source(root), 'utf8')).toBe(BROKEN_TRIXIE_SOURCES);
  });

  it('keeps a trixie source that already says what up would write', () => {
    const root = machine(bookworm, { 'debian.sources': MACHINE_DEBIAN_SOURCES });
    writeFileSync(source(root), plan(root).sourceFile);
    expect(plan(root).field('source file')).toBe(`${source(root)}: unchanged`);
  });

  it('takes an https mirror from a one-line sources.list entry with options', () => {
    const root = machine(bookworm);
    writeFileSync(
      join(root, 'etc/apt/sources.list'),
      'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://mirror.example.net/debian/ bookworm main\n',
    );
    const result = plan(root);
    expect(result.field('mirror')).toBe('https://mirror.example.net/debian');
    expect(result.sourceFile).toMatch(/^URIs: https:\/\/mirror\.example\.net\/debian$/m);
  });

  it('with no Debian source at all: says what it looked for and falls back to the standard mirror', () => {
    const root = machine(bookworm, {
      'nodesource.sources':
        'Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n',
    });
    const result = plan(root);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('no apt source serves Debian bookworm main');
    expect(result.field('mirror')).toBe('http://deb.debian.org/debian');
    expect(result.field('mirror from')).toBe('the standard Debian mirror (no bookworm main source found)');
  });

  it('DEPLOYER_DEBIAN_MIRROR overrides the detection', () => {
    const root = machine(bookworm, { 'debian.sources': MACHINE_DEBIAN_SOURCES });
    const result = plan(root, { DEPLOYER_DEBIAN_MIRROR: 'http://127.0.0.1:9/debian/' });
    expect(result.field('mirror')).toBe('http://127.0.0.1:9/debian');
    expect(result.field('mirror from')).toBe('DEPLOYER_DEBIAN_MIRROR');
  });

  it('on trixie: the release ships the packages, no extra source', () => {
    const result = plan(machine({ id: 'debian', codename: 'trixie' }));
    expect(result.status).toBe(0);
    expect(result.field('packages')?.trim()).toBe('docker.io docker-cli docker-buildx docker-compose');
    expect(result.field('mirror')).toBeUndefined();
    expect(result.field('source file')).toBeUndefined();
  });

  it('elsewhere than Debian: refuses, saying what to install by hand', () => {
    const result = plan(machine({ id: 'ubuntu', codename: 'noble' }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'the sandbox installs Docker only on Debian (this is ubuntu noble): install Docker Engine with buildx and Compose v2',
    );
  });
});
