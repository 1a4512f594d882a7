#!/usr/bin/env node
// Which Debian mirror does this machine's apt use? Asks apt itself (`apt-get indextargets`) instead of
// reading source files by hand, so comments, deb822 fields, several URIs and `[options]` are apt's business.
//
// Usage: node scripts/lib/debian-mirror.mjs [--root DIR] [--codename NAME]
//   prints the mirror URI (no trailing slash) of the first entry that serves `<codename> main` from Debian,
//   a space, and the source entry apt read it from (`file:line`);
//   exits 1 with a message naming what it looked for when there is none.
//   --root DIR reads DIR/etc/apt/sources.list and DIR/etc/apt/sources.list.d (tests use sample files).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Parses apt's deb822-style output (paragraphs of `Key: value` lines) into records. */
export function parseIndexTargets(text) {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => {
      const record = {};
      for (const line of paragraph.split('\n')) {
        const match = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
        if (match) record[match[1]] = match[2].trim();
      }
      return record;
    })
    .filter((record) => Object.keys(record).length > 0);
}

// Higher is better; 0 = not a Debian `<codename> main` archive.
function score(record, codename) {
  if (record['Target-Of'] !== 'deb' || record.Identifier !== 'Packages' || record.Component !== 'main')
    return 0;
  if (!/^https?:\/\//.test(record['Repo-URI'] ?? '')) return 0;
  const origin = record.Origin;
  // Release info (from a downloaded Release file) tells a third-party archive that reuses the suite name.
  if (origin && origin !== 'Debian') return 0;
  if (origin === 'Debian' && record.Codename === codename) return 3;
  if (record.Release === codename) return 2;
  if (record.Release === `${codename}-updates`) return 1;
  return 0;
}

/**
 * The mirror of the first entry (in apt's order) with the best score, or an error naming what was sought.
 * @returns {{ uri: string, entry: string } | { error: string }}
 */
export function pickDebianMirror(records, codename, lookedIn) {
  let best;
  let bestScore = 0;
  for (const record of records) {
    const s = score(record, codename);
    if (s > bestScore) {
      best = record;
      bestScore = s;
    }
  }
  if (!best) {
    const seen = [...new Set(records.map((r) => `${r['Repo-URI']} ${r.Release} ${r.Component}`))];
    return {
      error:
        `no apt source serves Debian ${codename} main: apt-get indextargets lists no 'deb' entry with suite ` +
        `${codename} (or ${codename}-updates), component main and an http(s) URI in ${lookedIn}` +
        (seen.length ? `; it lists: ${seen.slice(0, 6).join(', ')}` : '; it lists no entries at all'),
    };
  }
  return { uri: best['Repo-URI'].replace(/\/+$/, ''), entry: best.Sourcesentry ?? '' };
}

/**
 * Every configured entry, with Origin and Codename where apt has the Release file. (Without
 * --no-release-info apt lists only the entries whose Release file it has downloaded.)
 */
export function withReleaseInfo(entries, entriesWithReleaseInfo) {
  const byUri = new Map(entriesWithReleaseInfo.map((record) => [record.URI, record]));
  return entries.map((record) => ({ ...byUri.get(record.URI), ...record }));
}

function osCodename() {
  try {
    return (
      /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.replace(/"/g, '') ?? ''
    );
  } catch {
    return '';
  }
}

function main(argv) {
  let root = '';
  let codename = '';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root') root = argv[++i] ?? '';
    else if (argv[i] === '--codename') codename = argv[++i] ?? '';
    else throw new Error(`unknown argument ${argv[i]} (expected --root DIR, --codename NAME)`);
  }
  codename ||= osCodename();
  if (!codename) throw new Error('no --codename given and /etc/os-release has no VERSION_CODENAME');
  const base = root ? `${root.replace(/\/+$/, '')}/` : '/';
  const sourceList = `${base}etc/apt/sources.list`;
  const sourceParts = `${base}etc/apt/sources.list.d`;
  const options = root
    ? [
        `Dir::Etc::SourceList=${sourceList}`,
        `Dir::Etc::SourceParts=${sourceParts}`,
        `Dir::State::Lists=${base}var/lib/apt/lists`,
      ].flatMap((option) => ['-o', option])
    : [];
  const indextargets = (...extra) =>
    parseIndexTargets(execFileSync('apt-get', [...options, 'indextargets', ...extra], { encoding: 'utf8' }));
  const lookedIn = `${sourceList} and ${sourceParts}/ (*.list, *.sources)`;
  const result = pickDebianMirror(
    withReleaseInfo(indextargets('--no-release-info'), indextargets()),
    codename,
    lookedIn,
  );
  if ('error' in result) {
    process.stderr.write(`debian-mirror: ${result.error}\n`);
    return 1;
  }
  process.stdout.write(`${result.uri} ${result.entry}\n`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`debian-mirror: ${error.message}\n`);
    process.exitCode = 2;
  }
}
