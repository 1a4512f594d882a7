import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './paths.js';
import { git, GIT_ENV } from '../../scripts/harness/index.mjs';

export { git };

/** A realistic GitHub token that gitleaks' default `github-pat` rule catches; new for every call. */
export function fakeGithubToken(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return `ghp_${[...randomBytes(36)].map((byte) => alphabet[byte % alphabet.length]).join('')}`;
}

/**
 * A bare "origin" (like the GitHub repository) plus an author's clone that makes commits and pushes them.
 * Checkouts are cloned from origin over file:// so that --depth and fetches behave as over the network.
 */
export class GitFixture {
  readonly root = mkdtempSync(join(tmpdir(), 'gitleaks-gate-repo-'));
  readonly origin = join(this.root, 'origin.git');
  readonly author = join(this.root, 'author');
  readonly url = `file://${this.origin}`;
  private checkouts = 0;

  constructor() {
    execFileSync('git', ['init', '--quiet', '--bare', '-b', 'main', this.origin], { env: GIT_ENV });
    execFileSync('git', ['init', '--quiet', '-b', 'main', this.author], { env: GIT_ENV });
    git(this.author, 'remote', 'add', 'origin', this.url);
  }

  git(...args: string[]): string {
    return git(this.author, ...args);
  }

  /** Writes the files in the author's clone and commits them; returns the new commit's sha. */
  commit(files: Record<string, string>, message: string): string {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.author, path)), { recursive: true });
      writeFileSync(join(this.author, path), content);
    }
    this.git('add', '--all');
    this.git('commit', '--quiet', '--allow-empty', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }

  push(...refspecs: string[]): void {
    this.git('push', '--quiet', '--force', 'origin', ...refspecs);
  }

  /** Makes origin forget commits no ref reaches any more, as GitHub does after a force push. */
  forgetUnreachable(): void {
    execFileSync('git', ['-C', this.origin, 'reflog', 'expire', '--expire=now', '--all']);
    execFileSync('git', ['-C', this.origin, 'gc', '--quiet', '--prune=now']);
  }

  sha(revision: string): string {
    return this.git('rev-parse', revision);
  }

  /** A checkout like actions/checkout makes: `--depth` 1 by default, at `ref` (a branch or any ref of origin). */
  checkout(ref: string, { depth = 1 }: { depth?: number } = {}): string {
    const dir = join(this.root, `checkout-${++this.checkouts}`);
    execFileSync('git', ['init', '--quiet', dir], { env: GIT_ENV });
    git(dir, 'remote', 'add', 'origin', this.url);
    git(dir, 'fetch', '--quiet', '--no-tags', ...(depth ? [`--depth=${depth}`] : []), 'origin', ref);
    git(dir, 'checkout', '--quiet', '--detach', 'FETCH_HEAD');
    if (!depth) git(dir, 'fetch', '--quiet', '--no-tags', 'origin', '+refs/heads/*:refs/remotes/origin/*');
    return dir;
  }
}

/**
 * The test-only gitleaks executable (see gitleaks-emulator.mjs) as a shell wrapper in `dir`, plus the file
 * where it records every `gitleaks git` run.
 */
export function gitleaksEmulator(dir = mkdtempSync(join(tmpdir(), 'gitleaks-emulator-bin-'))): {
  path: string;
  logFile: string;
  runs: () => { command: string; logOpts: string; commits: string[] }[];
} {
  const path = join(dir, 'gitleaks');
  const logFile = join(dir, 'runs.jsonl');
  writeFileSync(
    path,
    `#!/bin/sh\nexec '${process.execPath}' '${repoRoot}test/support/gitleaks-emulator.mjs' "$@"\n`,
  );
  chmodSync(path, 0o755);
  return {
    path,
    logFile,
    runs: () =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line))
        : [],
  };
}
