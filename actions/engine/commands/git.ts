// git argv lists and the parsers of their output. Pure: no I/O.

/** How far a fetch reaches into a shallow clone's history. */
export interface FetchDepth {
  depth?: number;
  deepen?: number;
  unshallow?: boolean;
}

export const git = {
  /** `argv` (one of the commands below) run on the repository at `dir`, whatever the working directory. */
  in(dir: string, argv: readonly string[]): string[] {
    return ['git', '-C', dir, ...argv.slice(1)];
  },
  /** Prints `git version 2.43.0`: `parseGitVersion`. */
  version(): string[] {
    return ['git', 'version'];
  },
  /** The commit checked out; fails outside a repository and in one without commits. */
  head(): string[] {
    return ['git', 'rev-parse', '--verify', 'HEAD'];
  },
  /** The repository root of the working directory (fails outside a git checkout). */
  toplevel(): string[] {
    return ['git', 'rev-parse', '--show-toplevel'];
  },
  /** The repository's git directory, absolute. */
  absoluteGitDir(): string[] {
    return ['git', 'rev-parse', '--absolute-git-dir'];
  },
  /** `true`/`false`, then where git keeps the shallow boundary (`.git/shallow`). */
  shallowState(): string[] {
    return ['git', 'rev-parse', '--is-shallow-repository', '--path-format=absolute', '--git-path', 'shallow'];
  },
  /** The commit a revision names (peeling annotated tags); fails quietly when it names none. */
  resolveCommit(revision: string): string[] {
    return ['git', 'rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`];
  },
  /** The committer time of `sha` (RFC 3339). */
  commitTime(sha: string): string[] {
    return ['git', 'show', '--no-patch', '--format=%cI', sha, '--'];
  },
  /** `<sha> <type>` for each object name on stdin, one per line, in order. */
  batchCheck(): string[] {
    return ['git', 'cat-file', '--batch-check=%(objectname) %(objecttype)'];
  },
  /** The text of `path` in `commit`; fails when the commit has no such file. */
  fileAt(commit: string, path: string): string[] {
    return ['git', 'cat-file', 'blob', `${commit}:${path}`];
  },
  mergeBase(a: string, b: string): string[] {
    return ['git', 'merge-base', a, b];
  },
  revList(args: readonly string[]): string[] {
    return ['git', 'rev-list', ...args];
  },
  /** The commits of `base..head`, and (prefixed `-`) their parents outside it: `parseRevListBoundary`. */
  revListBoundary(base: string, head: string): string[] {
    return ['git', 'rev-list', '--boundary', `${base}..${head}`, '--'];
  },
  /** Which of `paths` (taken literally, not as patterns) differ between two commits, one per line. */
  changedPaths(from: string, to: string, paths: readonly string[]): string[] {
    const literal = paths.map((path) => `:(literal)${path}`);
    return ['git', 'diff', '--name-only', '--no-renames', from, to, '--', ...literal];
  },
  /** `git log -p -U0` over `logOpts`, as gitleaks reads the history. */
  patchLog(logOpts: readonly string[]): string[] {
    return ['git', 'log', '-p', '-U0', '--no-color', '--no-ext-diff', ...logOpts];
  },
  fetch(remote: string, wants: readonly string[], depth: FetchDepth = {}): string[] {
    return [
      'git',
      'fetch',
      '--no-tags',
      '--quiet',
      '--no-recurse-submodules',
      ...(depth.depth ? [`--depth=${depth.depth}`] : []),
      ...(depth.deepen ? [`--deepen=${depth.deepen}`] : []),
      ...(depth.unshallow ? ['--unshallow'] : []),
      remote,
      ...wants,
    ];
  },
  /**
   * `git status` of `pathspecs`, machine-readable (`parsePorcelainZ`): staged and unstaged changes to
   * tracked files, and every untracked file that is not git-ignored (`--untracked-files=all`, so files
   * inside untracked directories are listed one by one). Renames are reported as a deletion plus an
   * addition, so every path that differs is named. Paths come relative to the repository root.
   */
  status(pathspecs: readonly string[]): string[] {
    return [
      'git',
      '--no-optional-locks',
      'status',
      '--porcelain=v1',
      '-z',
      '--untracked-files=all',
      '--ignore-submodules=none',
      '--no-renames',
      '--',
      ...pathspecs,
    ];
  },
};

/** `[major, minor]` of `git version` output; `[0, 0]` when it names none. */
export function parseGitVersion(output: string): [number, number] {
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(output) ?? []).slice(1).map(Number);
  return [major, minor];
}

/** Reads `git rev-list --boundary`: the listed commits, and the boundary parents (`-<sha>`) outside. */
export function parseRevListBoundary(output: string): { commits: string[]; parentsOutside: string[] } {
  const lines = output.split('\n').filter(Boolean);
  return {
    commits: lines.filter((line) => !line.startsWith('-')),
    parentsOutside: lines.filter((line) => line.startsWith('-')).map((line) => line.slice(1)),
  };
}

export interface StatusEntry {
  /** Status letter in the index (staged), `?` for untracked, ` ` for none. */
  index: string;
  /** Status letter in the work tree (not staged). */
  worktree: string;
  /** Relative to the repository root; a trailing `/` for an untracked nested repository. */
  path: string;
  /** The original path of a rename or copy. */
  from?: string;
}

/** Parses `git status --porcelain=v1 -z`: `XY path\0`, with `XY to\0from\0` for renames and copies. */
export function parsePorcelainZ(output: string): StatusEntry[] {
  const records = output.split('\0');
  const entries: StatusEntry[] = [];
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (!record) continue;
    if (record.length < 4 || record[2] !== ' ')
      throw new Error(`unexpected git status output: ${JSON.stringify(record.slice(0, 80))}`);
    const entry: StatusEntry = { index: record[0]!, worktree: record[1]!, path: record.slice(3) };
    if ('RC'.includes(entry.index) || 'RC'.includes(entry.worktree)) {
      const from = records[++i];
      if (from) entry.from = from;
    }
    entries.push(entry);
  }
  return entries;
}
