import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  describeCli,
  flagsOf,
  parseVersion,
  UnsupportedGitleaksError,
} from '../../actions/engine/gitleaks/cli.js';
import { repoRoot } from '../support/paths.js';

// Help and version texts captured from real binaries: Debian trixie's gitleaks 8.16 package (a build that
// prints no version number) and the official 8.28.0.
const fixture = (name: string) => readFileSync(`${repoRoot}test/fixtures/gitleaks-cli/${name}`, 'utf8');

describe('describeCli', () => {
  it('8.28: git/dir commands and their flags', () => {
    const cli = describeCli(
      '/bin/gitleaks',
      fixture('8.28.version.txt'),
      fixture('8.28.help.txt'),
      (command) => (command === 'git' ? fixture('8.28.git-help.txt') : ''),
    );
    expect(cli.version).toBe('8.28.0');
    expect(cli.style).toBe('git');
    expect([...cli.flags]).toEqual(
      expect.arrayContaining(['log-opts', 'no-color', 'no-banner', 'gitleaks-ignore-path', 'baseline-path']),
    );
  });

  it("Debian's 8.16 build: detect, no --no-color, and a label instead of a version", () => {
    const cli = describeCli(
      '/usr/bin/gitleaks',
      fixture('8.16-debian.version.txt'),
      fixture('8.16-debian.help.txt'),
      (command) => (command === 'detect' ? fixture('8.16-debian.detect-help.txt') : ''),
    );
    expect(cli.version).toBeUndefined();
    expect(cli.label).toBe('of unknown version (a build that prints none)');
    expect(cli.style).toBe('detect');
    expect(cli.flags.has('no-color')).toBe(false);
    expect(cli.flags.has('gitleaks-ignore-path')).toBe(false);
    expect(cli.flags.has('log-opts')).toBe(true);
  });

  it('refuses 7.x naming the minimum', () => {
    expect(() =>
      describeCli('/bin/gitleaks', 'v7.6.1\n', 'Usage:\n  gitleaks [OPTIONS]\n', () => ''),
    ).toThrow(new UnsupportedGitleaksError('/bin/gitleaks', 'gitleaks 7.6.1'));
    expect(() => describeCli('/bin/gitleaks', 'v7.6.1\n', '', () => '')).toThrow(
      'gitleaks-gate needs gitleaks 8.0.0 or newer; /bin/gitleaks is gitleaks 7.6.1',
    );
  });

  it('refuses 8.19.0, whose git and dir always fail, and knows 8.0-8.2.2 write no report when clean', () => {
    const help = fixture('8.28.help.txt');
    const git = () => fixture('8.28.git-help.txt');
    expect(() => describeCli('/x', '8.19.0', help, git)).toThrow(
      /8\.19\.0, whose `git` and `dir` commands always fail/,
    );
    expect(describeCli('/x', '8.19.1', help, git).silentWhenClean).toBe(false);
    const old = describeCli('/x', 'v8.2.2', fixture('8.16-debian.help.txt'), () =>
      fixture('8.16-debian.detect-help.txt'),
    );
    expect(old.silentWhenClean).toBe(true);
  });

  it('refuses a binary without git or detect, or without a flag the gate needs, naming the minimum', () => {
    expect(() => describeCli('/x', 'dev\n', 'Available Commands:\n  scan  scan\n', () => '')).toThrow(
      /needs gitleaks 8\.0\.0 or newer; \/x is a gitleaks of unknown version .* with neither `git` nor `detect`/,
    );
    const help = fixture('8.16-debian.detect-help.txt').replace(/--log-opts/g, '--other');
    expect(() => describeCli('/x', '8.1.0', fixture('8.16-debian.help.txt'), () => help)).toThrow(
      'gitleaks-gate needs gitleaks 8.0.0 or newer; /x is a gitleaks 8.1.0 whose `detect` lacks --log-opts',
    );
  });
});

describe('parseVersion / flagsOf', () => {
  it.each([
    ['8.28.0\n', '8.28.0'],
    ['v8.18.4\n', '8.18.4'],
    ['version is set by build process\n', undefined],
  ])('%j → %j', (text, version) => expect(parseVersion(text)).toBe(version));

  it('reads long flags, short aliases and `uint[=100]` forms alike', () => {
    expect([...flagsOf('  -c, --config string   x\n      --redact uint[=100]   y\n')]).toEqual([
      'config',
      'redact',
    ]);
  });
});
