import { describe, expect, it } from 'vitest';
import { inlineAllows } from '../../actions/engine/gitleaks/inline-allows.js';
import { git, GitFixture } from '../support/git-fixture.js';

// Real `git log -p -U0` output of a small history, parsed for added `gitleaks:allow` lines.
describe('inlineAllows', () => {
  it('lists commit, file and new line number of each added line with gitleaks:allow, and nothing else', () => {
    const repo = new GitFixture();
    repo.commit({ 'a.py': 'one\ntwo\nthree\n' }, 'root');
    const first = repo.commit({ 'a.py': 'one\nkey = 1  # gitleaks:allow\ntwo\nthree\n' }, 'allow in a.py');
    const second = repo.commit(
      {
        'a.py': 'one\nkey = 1\ntwo\nthree\n', // removing the comment is not an allow
        'dir/b b.env': 'X=1\nY=2\nTOKEN=abc # gitleaks:allow\n',
      },
      'allow in b',
    );
    const log = git(repo.author, 'log', '-p', '-U0', '--diff-merges=first-parent', 'HEAD~2..HEAD');
    expect(inlineAllows(log)).toEqual([
      { commit: second, file: 'dir/b b.env', line: 3 },
      { commit: first, file: 'a.py', line: 2 },
    ]);
  });
});
