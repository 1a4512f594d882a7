import { readFileSync, existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { git, parseGitVersion, parseRevListBoundary, type FetchDepth } from '../commands/git.js';
import type { Executor } from '../exec/executor.js';

/** The few git facts and fetches the scan scope needs, asked of the real repository. */
export class GitRepository {
  constructor(
    private readonly executor: Executor,
    readonly dir: string,
    readonly remote: string,
  ) {}

  /** Runs a `git` command (commands/git.ts) on this repository. */
  private run(argv: string[], check = true, options: { stdin?: string } = {}) {
    return this.executor.run(git.in(this.dir, argv), {
      check,
      env: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      ...options,
    });
  }

  /** Whether git can show a merge commit's diff against its first parent (`--diff-merges`, git 2.31). */
  async showsMergeDiffs(): Promise<boolean> {
    const [major, minor] = parseGitVersion((await this.run(git.version())).stdout);
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
    const { stdout } = await this.run(git.shallowState());
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
    const result = await this.run(git.batchCheck(), false, {
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
    const result = await this.run(git.revListBoundary(base, head), false);
    return result.code === 0 ? parseRevListBoundary(result.stdout) : undefined;
  }

  /** The commit a revision names (peeling annotated tags), or undefined when it names none here. */
  async resolve(revision: string): Promise<string | undefined> {
    const result = await this.run(git.resolveCommit(revision), false);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** Fetches commits or refs from the remote; false when the remote refused or lacks them. */
  async fetch(wants: string[], depth: FetchDepth = {}): Promise<{ ok: boolean; error: string }> {
    const result = await this.run(git.fetch(this.remote, wants, depth), false);
    return { ok: result.code === 0, error: result.stderr.trim() };
  }

  async fetchedHead(): Promise<string | undefined> {
    return this.resolve('FETCH_HEAD');
  }

  /** The text of `path` in `commit`, or undefined when the commit has no such file. */
  async fileAt(commit: string, path: string): Promise<string | undefined> {
    const result = await this.run(git.fileAt(commit, path), false);
    return result.code === 0 ? result.stdout : undefined;
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const known = this.mergeBases.get(`${a} ${b}`) ?? this.mergeBases.get(`${b} ${a}`);
    if (known) return known;
    const result = await this.run(git.mergeBase(a, b), false);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  private readonly mergeBases = new Map<string, string>();

  /** Records what the range work has shown: `ancestor` is an ancestor of `descendant`, so their merge base. */
  rememberAncestor(ancestor: string, descendant: string): void {
    this.mergeBases.set(`${ancestor} ${descendant}`, ancestor);
  }

  /** Which of `paths` differ between two commits (paths taken literally, not as patterns). */
  async changedPaths(from: string, to: string, paths: string[]): Promise<string[]> {
    const { stdout } = await this.run(git.changedPaths(from, to, paths));
    return stdout.split('\n').filter(Boolean);
  }

  /** `git log -p -U0` over `logOpts`, as gitleaks reads the history. */
  async patchLog(logOpts: string[]): Promise<string> {
    const { stdout } = await this.run(git.patchLog(logOpts));
    return stdout;
  }

  /** The repository's git directory: a scan source in which no checked-out file steers gitleaks. */
  async gitDir(): Promise<string> {
    const { stdout } = await this.run(git.absoluteGitDir());
    return stdout.trim();
  }

  async revList(args: string[]): Promise<string[]> {
    const { stdout } = await this.run(git.revList(args));
    return stdout.split('\n').filter(Boolean);
  }
}
