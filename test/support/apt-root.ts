import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Sample apt configuration trees (etc/apt/sources.list, etc/apt/sources.list.d/*, etc/os-release) for the
// sandbox's install decisions; apt itself reads them through `-o Dir::Etc::…` options.

/** This machine kind's own file: a snapshot URL in a comment right above the real URIs line. */
export const MACHINE_DEBIAN_SOURCES = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

export interface AptTree {
  list?: string;
  parts?: Record<string, string>;
  os?: { id: string; codename: string };
}

const made: string[] = [];

export function makeAptRoot(tree: AptTree): string {
  const root = mkdtempSync(join(tmpdir(), 'deployer-apt-'));
  made.push(root);
  mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
  mkdirSync(join(root, 'var/lib/apt/lists'), { recursive: true });
  writeFileSync(join(root, 'etc/apt/sources.list'), tree.list ?? '');
  for (const [name, text] of Object.entries(tree.parts ?? {})) {
    writeFileSync(join(root, 'etc/apt/sources.list.d', name), text);
  }
  if (tree.os)
    writeFileSync(join(root, 'etc/os-release'), `ID=${tree.os.id}\nVERSION_CODENAME=${tree.os.codename}\n`);
  return root;
}

export function removeAptRoots(): void {
  for (const root of made.splice(0)) rmSync(root, { recursive: true, force: true });
}
