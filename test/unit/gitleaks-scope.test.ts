import { describe, expect, it } from 'vitest';
import { parseScanRange, scanScope } from '../../actions/engine/gitleaks/scope.js';

const a = 'a'.repeat(40);
const b = 'b'.repeat(40);
const zero = '0'.repeat(40);

describe('scanScope', () => {
  it.each(['pull_request', 'pull_request_target'])(
    '%s: every commit between base and head, no cap',
    (name) => {
      const event = {
        number: 12,
        pull_request: { commits: 250, head: { sha: b, ref: 'feature' }, base: { sha: a, ref: 'main' } },
      };
      expect(scanScope(name, event)).toEqual({
        kind: 'commits',
        head: { sha: b, fetchRef: 'refs/pull/12/head' },
        base: { kind: 'commit', sha: a, fetchRef: 'refs/heads/main' },
        sizeHint: 250,
        settingsFromBase: true,
        description: 'pull request #12 (aaaaaaa..bbbbbbb)',
      });
    },
  );

  it('merge_group: base_sha..head_sha', () => {
    const ref = `refs/heads/gh-readonly-queue/main/pr-3-${b}`;
    const scope = scanScope('merge_group', {
      merge_group: { head_sha: b, head_ref: ref, base_sha: a, base_ref: 'refs/heads/main' },
    });
    expect(scope).toMatchObject({
      kind: 'commits',
      head: { sha: b, fetchRef: ref },
      base: { kind: 'commit', sha: a, fetchRef: 'refs/heads/main' },
      settingsFromBase: true,
    });
  });

  it('push to the default branch: before..after, its whole history when before is gone', () => {
    const scope = scanScope('push', {
      ref: 'refs/heads/main',
      before: a,
      after: b,
      forced: true,
      repository: { default_branch: 'main' },
    });
    expect(scope).toEqual({
      kind: 'commits',
      head: { sha: b, fetchRef: 'refs/heads/main' },
      base: { kind: 'commit', sha: a, ifGone: { kind: 'none' } },
      description: 'force push to branch main (aaaaaaa..bbbbbbb)',
    });
  });

  it('force push to a topic branch: if its before is gone, the commits not on the default branch', () => {
    const scope = scanScope('push', {
      ref: 'refs/heads/topic',
      before: a,
      after: b,
      forced: true,
      repository: { default_branch: 'main' },
    });
    expect(scope).toMatchObject({
      base: { kind: 'commit', sha: a, ifGone: { kind: 'default-branch', branch: 'main' } },
    });
  });

  it('push creating a branch or tag: the commits not on the default branch', () => {
    for (const ref of ['refs/heads/topic/x', 'refs/tags/v1.0.0']) {
      const scope = scanScope('push', {
        ref,
        before: zero,
        after: b,
        created: true,
        repository: { default_branch: 'main' },
      });
      expect(scope).toMatchObject({
        kind: 'commits',
        head: { sha: b, fetchRef: ref },
        base: { kind: 'default-branch', branch: 'main' },
      });
    }
  });

  it('first push of the default branch (or no default branch known): the whole history', () => {
    const first = scanScope('push', {
      ref: 'refs/heads/main',
      before: zero,
      after: b,
      repository: { default_branch: 'main' },
    });
    expect(first).toMatchObject({ kind: 'commits', base: { kind: 'none' } });
    const unknown = scanScope('push', { ref: 'refs/heads/x', before: zero, after: b });
    expect(unknown).toMatchObject({ kind: 'commits', base: { kind: 'none' } });
    const hostile = scanScope('push', {
      ref: 'refs/heads/x',
      before: zero,
      after: b,
      repository: { default_branch: '--upload-pack=evil' },
    });
    expect(hostile).toMatchObject({ base: { kind: 'none' } });
  });

  it('push deleting a ref: nothing', () => {
    expect(scanScope('push', { ref: 'refs/tags/v1', before: a, after: zero, deleted: true })).toEqual({
      kind: 'nothing',
      description: 'push deleting tag v1',
    });
  });

  it('workflow_dispatch, schedule and others: full history unless scan-range says otherwise', () => {
    expect(scanScope('schedule', {})).toEqual({ kind: 'all', description: 'full history (schedule)' });
    expect(scanScope('workflow_dispatch', {}, 'v1.0..HEAD')).toEqual({
      kind: 'revisions',
      from: 'v1.0',
      to: 'HEAD',
      description: 'scan-range v1.0..HEAD',
    });
    expect(scanScope('push', {}, 'main')).toMatchObject({ kind: 'revisions', to: 'main' });
  });

  it('names the payload field that is wrong', () => {
    expect(() =>
      scanScope('pull_request', {
        number: 1,
        pull_request: { head: { sha: 'HEAD' }, base: { sha: a, ref: 'main' } },
      }),
    ).toThrow(/Cannot tell what to scan from the pull_request event: pull_request\.head\.sha/);
    expect(() => scanScope('push', { ref: 'refs/heads/a..b', before: a, after: b })).toThrow(
      /push event: ref/,
    );
    expect(() => scanScope('merge_group', {})).toThrow(/merge_group event: merge_group/);
  });
});

describe('parseScanRange', () => {
  it('accepts revisions and two-dot ranges only', () => {
    expect(parseScanRange('v1.2.3..HEAD')).toEqual({ from: 'v1.2.3', to: 'HEAD' });
    expect(parseScanRange('origin/main~10..origin/main')).toEqual({
      from: 'origin/main~10',
      to: 'origin/main',
    });
    expect(parseScanRange('main')).toEqual({ to: 'main' });
    for (const bad of ['', '--all', 'a...b', 'a..b..c', '..b', 'a..', 'a b', '-n1', 'a;b']) {
      expect(parseScanRange(bad), bad).toBeUndefined();
    }
  });
});
