import { readFileSync, existsSync } from 'node:fs';
import type { Executor } from '../exec/executor.js';

export interface FetchDepth {
  depth?: number;
  deepen?: number;
  unshallow?: boolean;
}

/** The few git facts and fetches the scan scope needs, asked of the real repository. */
export class GitRepository {
  constructor(
    private readonly executor: Executor,
    readonly dir: string,
    readonly remote: string,
  ) {}

  private git(args: string[], check = true) {
    return this.executor.run(['git', '-C', this.dir, ...args], {
      check,
      env: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    });
  }

  /** Whether git can show a merge commit's diff against its first parent (`--diff-merges`, git 2.31). */
  async showsMergeDiffs(): Promise<boolean> {
    const { stdout } = await this.git(['version']);
    const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(stdout) ?? []).slice(1).map(Number);
    return major > 2 || (major === 2 && minor >= 31);
  }

  async isShallow(): Promise<boolean> {
    const { stdout } = await this.git(['rev-parse', '--is-shallow-repository']);
    return stdout.trim() === 'true';
  }

  /** Commits whose parents a shallow clone left out. */
  async shallowBoundary(): Promise<Set<string>> {
    const { stdout } = await this.git(['rev-parse', '--path-format=absolute', '--git-path', 'shallow']);
    const file = stdout.trim();
    if (!existsSync(file)) return new Set();
    return new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
  }

  /** The commit a revision names (peeling annotated tags), or undefined when it names none here. */
  async resolve(revision: string): Promise<string | undefined> {
    const result = await this.git(
      ['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`],
      false,
    );
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** Fetches commits or refs from the remote; false when the remote refused or lacks them. */
  async fetch(wants: string[], depth: FetchDepth = {}): Promise<{ ok: boolean; error: string }> {
    const args = ['fetch', '--no-tags', '--quiet', '--no-recurse-submodules'];
    if (depth.depth) args.push(`--depth=${depth.depth}`);
    if (depth.deepen) args.push(`--deepen=${depth.deepen}`);
    if (depth.unshallow) args.push('--unshallow');
    const result = await this.git([...args, this.remote, ...wants], false);
    return { ok: result.code === 0, error: result.stderr.trim() };
  }

  async fetchedHead(): Promise<string | undefined> {
    return this.resolve('FETCH_HEAD');
  }

  /** The text of `path` in `commit`, or undefined when the commit has no such file. */
  async fileAt(commit: string, path: string): Promise<string | undefined> {
    const result = await this.git(['cat-file', 'blob', `${commit}:${path}`], false);
    return result.code === 0 ? result.stdout : undefined;
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const result = await this.git(['merge-base', a, b], false);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** Which of `paths` differ between two commits (paths taken literally, not as patterns). */
  async changedPaths(from: string, to: string, paths: string[]): Promise<string[]> {
    const literal = paths.map((path) => `:(literal)${path}`);
    const { stdout } = await this.git(['diff', '--name-only', '--no-renames', from, to, '--', ...literal]);
    return stdout.split('\n').filter(Boolean);
  }

  /** `git log -p -U0` over `logOpts`, as gitleaks reads the history (merges against their first parent). */
  async patchLog(logOpts: string[]): Promise<string> {
    const { stdout } = await this.git(['log', '-p', '-U0', '--no-color', '--no-ext-diff', ...logOpts]);
    return stdout;
  }

  /** The repository's git directory: a scan source in which no checked-out file steers gitleaks. */
  async gitDir(): Promise<string> {
    const { stdout } = await this.git(['rev-parse', '--absolute-git-dir']);
    return stdout.trim();
  }

  async revList(args: string[]): Promise<string[]> {
    const { stdout } = await this.git(['rev-list', ...args]);
    return stdout.split('\n').filter(Boolean);
  }
}
