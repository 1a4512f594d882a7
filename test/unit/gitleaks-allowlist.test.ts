import { describe, expect, it } from 'vitest';
import { allowedByCommit, commitAllowlists } from '../../actions/engine/gitleaks/allowlist.js';
import type { Finding } from '../../actions/engine/gitleaks/sarif.js';

const a = 'a'.repeat(40);
const b = 'b'.repeat(40);
const finding = (commit: string | undefined, ruleId = 'github-pat'): Finding => ({
  ruleId,
  file: 'x.py',
  line: 1,
  endLine: 1,
  commit,
  fingerprint: 'fp',
});

describe('global commit allowlists', () => {
  it('reads [[allowlists]] and the older [allowlist], commits compared without case', () => {
    const lists = commitAllowlists(`
[extend]
useDefault = true

[allowlist]
commits = ["${a.toUpperCase()}"]

[[allowlists]]
description = "rotated keys"
commits = ["${b}"]
targetRules = ["github-pat"]
`);
    expect(allowedByCommit(finding(a), lists)).toBe(true);
    expect(allowedByCommit(finding(b), lists)).toBe(true);
    expect(allowedByCommit(finding(b, 'aws-access-token'), lists)).toBe(false);
    expect(allowedByCommit(finding(undefined), lists)).toBe(false);
    expect(allowedByCommit(finding('c'.repeat(40)), lists)).toBe(false);
  });

  it('leaves to gitleaks the allowlists where commits alone do not decide', () => {
    const lists = commitAllowlists(`
[[allowlists]]
condition = "AND"
commits = ["${a}"]
paths = ['''^docs/''']

[[allowlists]]
paths = ['''^vendor/''']

[[rules]]
id = "custom"
regex = '''x'''
[[rules.allowlists]]
commits = ["${b}"]
`);
    expect(lists).toEqual([]);
  });

  it('applies commits of an OR allowlist that also lists paths', () => {
    const lists = commitAllowlists(`[[allowlists]]\ncommits = ["${a}"]\npaths = ['''^docs/''']\n`);
    expect(allowedByCommit(finding(a), lists)).toBe(true);
  });

  it('reads nothing from a config that does not parse (gitleaks reports that itself)', () => {
    expect(commitAllowlists('[[allowlists\ncommits = ')).toEqual([]);
  });
});
