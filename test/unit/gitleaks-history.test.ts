import { describe, expect, it } from 'vitest';
import {
  judgeRange,
  MAX_DEEPEN_ROUNDS,
  nextHistoryStep,
  rangeLogOpts,
} from '../../actions/engine/gitleaks/history.js';

const facts = { shallow: true, hasBase: true, mergeBaseFound: true, rangeHitsBoundary: false, round: 0 };

describe('nextHistoryStep', () => {
  it('is done with a complete clone, whatever the range', () => {
    expect(
      nextHistoryStep({ ...facts, shallow: false, mergeBaseFound: false, rangeHitsBoundary: true }),
    ).toEqual({ kind: 'done' });
  });

  it('is done with a shallow clone once base and head meet and no range commit lacks its parents', () => {
    expect(nextHistoryStep(facts)).toEqual({ kind: 'done' });
  });

  it('deepens while the range reaches the shallow boundary or the base is not yet connected', () => {
    expect(nextHistoryStep({ ...facts, rangeHitsBoundary: true })).toEqual({ kind: 'deepen', by: 50 });
    expect(nextHistoryStep({ ...facts, mergeBaseFound: false })).toEqual({ kind: 'deepen', by: 50 });
    expect(nextHistoryStep({ ...facts, mergeBaseFound: false, round: 2 })).toEqual({
      kind: 'deepen',
      by: 200,
    });
  });

  it('deepens a pull request by its commit count in one go', () => {
    expect(nextHistoryStep({ ...facts, rangeHitsBoundary: true, sizeHint: 300 })).toEqual({
      kind: 'deepen',
      by: 301,
    });
  });

  it('fetches the whole history after the last round, or at once when there is no base', () => {
    expect(nextHistoryStep({ ...facts, rangeHitsBoundary: true, round: MAX_DEEPEN_ROUNDS })).toEqual({
      kind: 'unshallow',
    });
    expect(nextHistoryStep({ ...facts, hasBase: false, rangeHitsBoundary: true })).toEqual({
      kind: 'unshallow',
    });
    expect(nextHistoryStep({ ...facts, hasBase: false, mergeBaseFound: false })).toEqual({ kind: 'done' });
  });
});

describe('judgeRange', () => {
  // A pull request of 3 commits c3 (head), c2, c1 forking from f; the base b has moved on from f.
  const listed = {
    commits: ['c3', 'c2', 'c1'],
    parentsOutside: ['f'],
    boundary: new Set(['f']),
    size: 3,
  };

  it('is whole with exactly the pull request’s count, none cut from its parents, and the base met', () => {
    expect(judgeRange(listed)).toBe('whole');
    // The fork point is the cut of the head's side: it is outside the range, which is all that matters.
    expect(judgeRange({ ...listed, boundary: new Set(['f', 'b']) })).toBe('whole');
    expect(judgeRange({ ...listed, commits: [], parentsOutside: [], size: 0 })).toBe('whole');
  });

  it('asks for more of the base’s history when the fork point is listed as if it were the range’s', () => {
    // The base at depth 1 does not reach f: git lists it, cut, as a fourth commit.
    expect(judgeRange({ ...listed, commits: ['c3', 'c2', 'c1', 'f'], parentsOutside: [] })).toBe(
      'base-short',
    );
    // A merge of main into the pull request brings main's commits the base's short history does not reach.
    expect(judgeRange({ ...listed, commits: ['c3', 'm', 'c2', 'c1', 'x'], parentsOutside: ['f'] })).toBe(
      'base-short',
    );
  });

  it('leaves anything else to the slow path: a range cut short, base and head apart, a count that does not match', () => {
    expect(judgeRange({ ...listed, boundary: new Set(['c1']) })).toBe('unsure');
    expect(judgeRange({ ...listed, parentsOutside: [] })).toBe('unsure');
    expect(judgeRange({ ...listed, size: 4 })).toBe('unsure');
    expect(judgeRange({ ...listed, commits: ['c3', 'c2'], boundary: new Set(['c2']) })).toBe('unsure');
  });
});

describe('rangeLogOpts', () => {
  it('is base..head, or the head alone for its whole history (root commit included, no ^ needed)', () => {
    expect(rangeLogOpts('bbb', 'aaa')).toEqual(['aaa..bbb']);
    expect(rangeLogOpts('bbb')).toEqual(['bbb']);
  });
});
