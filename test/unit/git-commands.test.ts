import { describe, expect, it } from 'vitest';
import { git, parseGitVersion, parseRevListBoundary } from '../../actions/engine/commands/git.js';

describe('git argv', () => {
  it('runs a command on another repository with -C', () => {
    expect(git.in('/repo', git.mergeBase('a', 'b'))).toEqual(['git', '-C', '/repo', 'merge-base', 'a', 'b']);
  });

  it('asks what the checkout is', () => {
    expect(git.head()).toEqual(['git', 'rev-parse', '--verify', 'HEAD']);
    expect(git.toplevel()).toEqual(['git', 'rev-parse', '--show-toplevel']);
    expect(git.absoluteGitDir()).toEqual(['git', 'rev-parse', '--absolute-git-dir']);
    expect(git.shallowState()).toEqual([
      'git',
      'rev-parse',
      '--is-shallow-repository',
      '--path-format=absolute',
      '--git-path',
      'shallow',
    ]);
    expect(git.resolveCommit('v1')).toEqual([
      'git',
      'rev-parse',
      '--verify',
      '--quiet',
      '--end-of-options',
      'v1^{commit}',
    ]);
    expect(git.batchCheck()).toEqual(['git', 'cat-file', '--batch-check=%(objectname) %(objecttype)']);
    expect(git.fileAt('c1', 'a b.toml')).toEqual(['git', 'cat-file', 'blob', 'c1:a b.toml']);
  });

  it('fetches without tags or submodules, as deep as asked', () => {
    expect(git.fetch('origin', ['refs/heads/main'])).toEqual([
      'git',
      'fetch',
      '--no-tags',
      '--quiet',
      '--no-recurse-submodules',
      'origin',
      'refs/heads/main',
    ]);
    expect(git.fetch('origin', ['c1', 'c2'], { depth: 3, deepen: 5, unshallow: true }).slice(5)).toEqual([
      '--depth=3',
      '--deepen=5',
      '--unshallow',
      'origin',
      'c1',
      'c2',
    ]);
  });

  it('lists history and changes, paths taken literally', () => {
    expect(git.revListBoundary('b', 'h')).toEqual(['git', 'rev-list', '--boundary', 'b..h', '--']);
    expect(git.revList(['--full-history', '--all'])).toEqual(['git', 'rev-list', '--full-history', '--all']);
    expect(git.changedPaths('f', 't', ['.gitleaks.toml'])).toEqual([
      'git',
      'diff',
      '--name-only',
      '--no-renames',
      'f',
      't',
      '--',
      ':(literal).gitleaks.toml',
    ]);
    expect(git.patchLog(['a..b'])).toEqual([
      'git',
      'log',
      '-p',
      '-U0',
      '--no-color',
      '--no-ext-diff',
      'a..b',
    ]);
  });
});

describe('reading git output', () => {
  it('reads the version', () => {
    expect(parseGitVersion('git version 2.43.0\n')).toEqual([2, 43]);
    expect(parseGitVersion('nothing')).toEqual([0, 0]);
  });

  it('splits rev-list --boundary into the range and the parents outside it', () => {
    expect(parseRevListBoundary('c2\nc1\n-f\n')).toEqual({ commits: ['c2', 'c1'], parentsOutside: ['f'] });
  });
});
