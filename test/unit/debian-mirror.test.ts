import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { parseIndexTargets, pickDebianMirror } from '../../scripts/lib/debian-mirror.mjs';
import { repoRoot } from '../support/paths.js';
import { MACHINE_DEBIAN_SOURCES, makeAptRoot, removeAptRoots } from '../support/apt-root.js';

// The sandbox installs Docker from Debian trixie through "the mirror this machine's apt uses". These tests give
// apt itself sample source files (apt-get indextargets parses them) and check which mirror is picked.

afterAll(removeAptRoots);
const aptRoot = makeAptRoot;

function detect(root: string, codename = 'bookworm') {
  const run = spawnSync(
    'node',
    [`${repoRoot}scripts/lib/debian-mirror.mjs`, '--root', root, '--codename', codename],
    {
      encoding: 'utf8',
    },
  );
  const [uri, entry] = run.stdout.trim().split(' ');
  return { status: run.status, uri, entry, stderr: run.stderr };
}

describe('debian-mirror (apt reads the sample sources)', () => {
  it('ignores a comment above URIs: in a deb822 file and takes the URI apt uses', () => {
    const root = aptRoot({ parts: { 'debian.sources': MACHINE_DEBIAN_SOURCES } });
    const found = detect(root);
    expect(found.status).toBe(0);
    expect(found.uri).toBe('http://deb.debian.org/debian');
    expect(found.entry).toBe(`${root}/etc/apt/sources.list.d/debian.sources:1`);
  });

  it('takes the first of several URIs values', () => {
    const root = aptRoot({
      parts: {
        'debian.sources': `# URIs: http://commented.example/debian
Types: deb deb-src
URIs: https://mirror.example.org/debian/ http://deb.debian.org/debian
Suites: bookworm
Components: contrib main
`,
      },
    });
    expect(detect(root).uri).toBe('https://mirror.example.org/debian');
  });

  it('reads one-line sources.list entries with [options], never commented ones', () => {
    const root = aptRoot({
      list: `# deb http://commented.example/debian bookworm main
deb-src http://src-only.example/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg arch=amd64] https://ftp.example.de/debian/ bookworm main non-free-firmware
`,
    });
    const found = detect(root);
    expect(found.uri).toBe('https://ftp.example.de/debian');
    expect(found.entry).toBe(`${root}/etc/apt/sources.list:3`);
  });

  it('prefers the entry serving bookworm main over one serving only bookworm-updates or another component', () => {
    const root = aptRoot({
      list: `deb http://updates.example/debian bookworm-updates main
deb http://contrib-only.example/debian bookworm contrib
deb http://main.example/debian bookworm main
`,
    });
    expect(detect(root).uri).toBe('http://main.example/debian');
  });

  it('falls back to a bookworm-updates entry when no entry serves bookworm itself', () => {
    const root = aptRoot({ list: 'deb http://updates.example/debian bookworm-updates main\n' });
    expect(detect(root).uri).toBe('http://updates.example/debian');
  });

  it('skips files apt skips: disabled deb822 stanzas and files without a sources extension', () => {
    const root = aptRoot({
      parts: {
        'a-disabled.sources':
          'Enabled: no\nTypes: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nComponents: main\n',
        'b.list.disabled-by-farm': 'deb http://renamed.example/debian bookworm main\n',
        'c.list': 'deb http://real.example/debian bookworm main\n',
      },
    });
    expect(detect(root).uri).toBe('http://real.example/debian');
  });

  it('fails naming what it looked for when no Debian source exists at all', () => {
    const root = aptRoot({
      parts: {
        'nodesource.sources':
          'Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n',
        'security.sources':
          'Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n',
      },
    });
    const found = detect(root);
    expect(found.status).toBe(1);
    expect(found.uri).toBe('');
    expect(found.stderr).toContain(
      "no apt source serves Debian bookworm main: apt-get indextargets lists no 'deb' entry",
    );
    expect(found.stderr).toContain(`${root}/etc/apt/sources.list and ${root}/etc/apt/sources.list.d/`);
    expect(found.stderr).toContain('https://deb.nodesource.com/node_20.x/ nodistro main');
  });

  it('fails on an empty machine, saying there are no entries', () => {
    const found = detect(aptRoot({}));
    expect(found.status).toBe(1);
    expect(found.stderr).toContain('it lists no entries at all');
  });
});

describe('pickDebianMirror with release info (apt has downloaded the Release files)', () => {
  const target = (fields: Record<string, string>) =>
    `Target-Of: deb\nIdentifier: Packages\nComponent: main\n${Object.entries(fields)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n')}\n`;

  it('skips a third-party archive that reuses the suite name and takes Debian by its Release file', () => {
    const text = [
      target({
        'Repo-URI': 'https://packages.sury.example/php/',
        Release: 'bookworm',
        Origin: 'deb.sury.org',
        Codename: 'bookworm',
      }),
      target({
        'Repo-URI': 'http://deb.debian.org/debian/',
        Release: 'oldstable',
        Origin: 'Debian',
        Codename: 'bookworm',
        Sourcesentry: 'x:1',
      }),
    ].join('\n');
    expect(pickDebianMirror(parseIndexTargets(text), 'bookworm', 'sample')).toEqual({
      uri: 'http://deb.debian.org/debian',
      entry: 'x:1',
    });
  });

  it('ignores cdrom: and file: entries, which cannot serve trixie', () => {
    const text = target({ 'Repo-URI': 'cdrom:[Debian GNU/Linux 12]/', Release: 'bookworm' });
    expect(pickDebianMirror(parseIndexTargets(text), 'bookworm', 'sample')).toHaveProperty('error');
  });
});
