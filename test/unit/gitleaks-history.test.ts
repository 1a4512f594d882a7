import { describe, expect, it } from 'vitest';
import { MAX_DEEPEN_ROUNDS, nextHistoryStep, rangeLogOpts } from '../../actions/engine/gitleaks/history.js';

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

describe('rangeLogOpts', () => {
  it('is base..head, or the head alone for its whole history (root commit included, no ^ needed)', () => {
    expect(rangeLogOpts('bbb', 'aaa')).toEqual(['aaa..bbb']);
    expect(rangeLogOpts('bbb')).toEqual(['bbb']);
  });
});
