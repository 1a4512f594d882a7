import { readFileSync, existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
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

  private git(args: string[], check = true, options: { stdin?: string } = {}) {
    return this.executor.run(['git', '-C', this.dir, ...args], {
      check,
      env: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      ...options,
    });
  }

  /** Whether git can show a merge commit's diff against its first parent (`--diff-merges`, git 2.31). */
  async showsMergeDiffs(): Promise<boolean> {
    const { stdout } = await this.git(['version']);
    const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(stdout) ?? []).slice(1).map(Number);
    return major > 2 || (major === 2 && minor >= 31);
  }

  async isShallow(): Promise<boolean> {
    return (await this.shallowState()).shallow;
  }

  /** Where git lists the shallow boundary (`.git/shallow`), asked once: the path never changes. */
  private shallowFile?: string;

  /** Whether the clone is shallow, and its boundary, in one git call (the boundary is read from the file). */
  async shallowState(): Promise<{ shallow: boolean; boundary: Set<string> }> {
    if (this.shallowFile !== undefined) {
      // git keeps the file exactly while the repository is shallow (a fetch that unshallows removes it).
      const boundary = this.readShallowFile();
      return { shallow: boundary.size > 0, boundary };
    }
    const { stdout } = await this.git([
      'rev-parse',
      '--is-shallow-repository',
      '--path-format=absolute',
      '--git-path',
      'shallow',
    ]);
    const lines = stdout.split('\n').map((line) => line.trim());
    // The path is the last line; a git without --path-format echoes the flag and prints a relative path.
    const file = lines.filter(Boolean).at(-1) ?? '';
    this.shallowFile = isAbsolute(file) ? file : resolve(this.dir, file);
    const shallow = lines[0] === 'true';
    return { shallow, boundary: shallow ? this.readShallowFile() : new Set() };
  }

  /** Commits whose parents a shallow clone left out. */
  async shallowBoundary(): Promise<Set<string>> {
    return (await this.shallowState()).boundary;
  }

  private readShallowFile(): Set<string> {
    const file = this.shallowFile;
    if (!file || !existsSync(file)) return new Set();
    return new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
  }

  /** The commit each revision names (peeling tags) where this repository has it, in one git call. */
  async commitsPresent(revisions: string[]): Promise<Map<string, string>> {
    const result = await this.git(['cat-file', '--batch-check=%(objectname) %(objecttype)'], false, {
      stdin: revisions.map((revision) => `${revision}^{commit}\n`).join(''),
    });
    const found = new Map<string, string>();
    const lines = result.stdout.split('\n');
    revisions.forEach((revision, index) => {
      const [sha, type] = (lines[index] ?? '').split(' ');
      if (result.code === 0 && type === 'commit' && sha) found.set(revision, sha);
    });
    return found;
  }

  /**
   * `git rev-list --boundary base..head`: the commits of the range, newest first, and their parents that
   * the base reaches here (where base and head meet in the local history). Undefined when this repository
   * lacks either end.
   */
  async rangeWithBoundary(
    base: string,
    head: string,
  ): Promise<{ commits: string[]; parentsOutside: string[] } | undefined> {
    const result = await this.git(['rev-list', '--boundary', `${base}..${head}`, '--'], false);
    if (result.code !== 0) return undefined;
    const lines = result.stdout.split('\n').filter(Boolean);
    return {
      commits: lines.filter((line) => !line.startsWith('-')),
      parentsOutside: lines.filter((line) => line.startsWith('-')).map((line) => line.slice(1)),
    };
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
    const known = this.mergeBases.get(`${a} ${b}`) ?? this.mergeBases.get(`${b} ${a}`);
    if (known) return known;
    const result = await this.git(['merge-base', a, b], false);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  private readonly mergeBases = new Map<string, string>();

  /** Records what the range work has shown: `ancestor` is an ancestor of `descendant`, so their merge base. */
  rememberAncestor(ancestor: string, descendant: string): void {
    this.mergeBases.set(`${ancestor} ${descendant}`, ancestor);
  }

  /** Which of `paths` differ between two commits (paths taken literally, not as patterns). */
  async changedPaths(from: string, to: string, paths: string[]): Promise<string[]> {
    const literal = paths.map((path) => `:(literal)${path}`);
    const { stdout } = await this.git(['diff', '--name-only', '--no-renames', from, to, '--', ...literal]);
    return stdout.split('\n').filter(Boolean);
  }

  /** `git log -p -U0` over `logOpts`, as gitleaks reads the history. */
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
