import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { git, parsePorcelainZ, type StatusEntry } from '../commands/git.js';
import type { Executor } from '../exec/executor.js';
import type { DirtyBuild } from './plan.js';

// Is the build context exactly the commit the tag names? A sha tag can never be replaced, so a work tree
// with uncommitted changes must not be published under it: it is refused, or (allow-dirty) published under
// a tag of its own that names the changes by a hash of their content.

/** How many offending paths an error or warning lists. */
export const LISTED_PATHS = 10;
/** Hex characters of the content hash in a dirty tag. */
export const FINGERPRINT_LENGTH = 12;

/** English messages (to tell "not a repository" apart) and no index lock taken while others may run git. */
export const GIT_ENV = { LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0' };

/** A path (relative to the repository root, `/`-separated) as a pathspec that matches only itself. */
export function literalPathspec(path: string): string {
  return `:(top,literal)${path}`;
}

/**
 * What to check: the context directory, and the Dockerfile when it lies outside the context but inside
 * the repository. Paths are absolute and resolved (symlinks followed, as git reports the root).
 * `[]` means the whole repository (the context is its root).
 */
export function buildPathspecs(top: string, context: string, dockerfile: string): string[] {
  const below = (parent: string, path: string) => {
    const rel = relative(parent, path);
    return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? undefined : rel;
  };
  const inside = (path: string) => below(top, path)?.split(sep).join('/');
  const contextPath = inside(context) ?? '';
  const specs = contextPath ? [literalPathspec(contextPath)] : [];
  const dockerfilePath = inside(dockerfile);
  if (contextPath && dockerfilePath && below(context, dockerfile) === undefined)
    specs.push(literalPathspec(dockerfilePath));
  return specs;
}

const WORDS: Record<string, string> = {
  M: 'modified',
  T: 'type changed',
  A: 'added',
  D: 'deleted',
  R: 'renamed',
  C: 'copied',
};

/** `modified`, `untracked`, `added (staged)`, … as a user would say it. */
export function describeEntry(entry: StatusEntry): string {
  const { index, worktree } = entry;
  if (index === '?') return 'untracked';
  if (index === '!') return 'ignored';
  if (index === 'U' || worktree === 'U' || (index === worktree && 'AD'.includes(index)))
    return 'unmerged (conflict)';
  const parts: string[] = [];
  if (index !== ' ')
    parts.push(`${WORDS[index] ?? index}${entry.from ? ` from ${entry.from}` : ''} (staged)`);
  if (worktree !== ' ')
    parts.push(`${WORDS[worktree] ?? worktree}${entry.from && index === ' ' ? ` from ${entry.from}` : ''}`);
  return parts.join(', then ');
}

/** Up to `limit` lines `  - path (what)`, then how many more there are. */
export function listEntries(entries: readonly StatusEntry[], limit = LISTED_PATHS): string[] {
  const lines = entries.slice(0, limit).map((entry) => `  - ${entry.path} (${describeEntry(entry)})`);
  if (entries.length > limit) lines.push(`  - … and ${entries.length - limit} more`);
  return lines;
}

/** Every path whose content counts: both sides of a rename, once each, sorted. */
export function changedPaths(entries: readonly StatusEntry[]): string[] {
  const paths = new Set<string>();
  for (const entry of entries) {
    paths.add(entry.path);
    if (entry.from) paths.add(entry.from);
  }
  return [...paths].sort();
}

export interface PathState {
  path: string;
  /** `missing`, `file <x|-> <sha256>`, `link <target>` or `dir <sha256 of its entries>`. */
  state: string;
}

/**
 * The short hash a dirty tag carries: the commit the changes are on plus, for every changed path, what
 * is there now. Only content counts (not whether a change is staged, not file times), so the same
 * changes give the same tag on every run.
 */
export function dirtyFingerprint(head: string | undefined, states: readonly PathState[]): string {
  const hash = createHash('sha256').update(`deployer dirty v1\0head ${head ?? 'none'}\0`);
  for (const { path, state } of [...states].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
    hash.update(`${path}\0${state}\0`);
  return hash.digest('hex').slice(0, FINGERPRINT_LENGTH);
}

/** `sha-<commit>-dirty-<hash>`: never the commit's own tag, the same for the same changes. */
export function dirtyTag(cleanTag: string, fingerprint: string): string {
  return `${cleanTag}-dirty-${fingerprint}`;
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What a path holds now, for the fingerprint (a directory: an untracked nested repository or a submodule). */
export async function readPathState(root: string, path: string): Promise<string> {
  const full = join(root, path.replace(/\/$/, ''));
  const stat = await lstat(full).catch(() => undefined);
  if (!stat) return 'missing';
  if (stat.isSymbolicLink()) return `link ${await readlink(full)}`;
  if (stat.isFile()) return `file ${stat.mode & 0o100 ? 'x' : '-'} ${await fileHash(full)}`;
  if (stat.isDirectory()) {
    const hash = createHash('sha256');
    const names = (await readdir(full)).filter((name) => name !== '.git').sort();
    for (const name of names) hash.update(`${name}\0${await readPathState(full, name)}\0`);
    return `dir ${hash.digest('hex')}`;
  }
  return `other ${stat.mode.toString(8)}`;
}

export type WorkTree =
  | { git: false; reason: string }
  | {
      git: true;
      /** The repository root. */
      top: string;
      /** The commit checked out (HEAD); undefined in a repository without commits. */
      head?: string;
      /** What differs from HEAD in the paths the build reads; empty when clean. */
      entries: StatusEntry[];
      /** Set when `entries` is not empty. */
      fingerprint?: string;
    };

/** Asks git (through `executor`) whether the build context and Dockerfile hold HEAD unchanged. */
export async function inspectWorkTree(
  executor: Executor,
  context: string,
  dockerfile: string,
): Promise<WorkTree> {
  const top = await executor
    .run(git.toplevel(), { cwd: context, env: GIT_ENV, check: false })
    .catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
  if (!top) return { git: false, reason: 'git is not installed on this runner' };
  if (top.code !== 0 || !top.stdout.trim()) {
    const said = top.stderr.trim().split('\n')[0] ?? '';
    return {
      git: false,
      reason: /not a git repository/i.test(said)
        ? 'the context is not in a git checkout'
        : `git cannot read the checkout: ${said || `exit code ${top.code}`}`,
    };
  }
  const root = await realpath(top.stdout.replace(/\n$/, ''));
  const head = await executor.run(git.head(), { cwd: root, env: GIT_ENV, check: false });
  const pathspecs = buildPathspecs(root, await realpath(context), await realpath(dockerfile));
  const status = await executor.run(git.status(pathspecs), { cwd: root, env: GIT_ENV, check: false });
  if (status.code !== 0)
    throw new Error(
      `Cannot tell whether the build context holds its commit unchanged: \`git status\` failed in ${root}: ${status.stderr.trim().split('\n')[0] ?? `exit code ${status.code}`}`,
    );
  const entries = parsePorcelainZ(status.stdout);
  const headSha = head.code === 0 ? head.stdout.trim().toLowerCase() : undefined;
  if (!entries.length) return { git: true, top: root, head: headSha, entries };
  const states = await Promise.all(
    changedPaths(entries).map(async (path) => ({ path, state: await readPathState(root, path) })),
  );
  return { git: true, top: root, head: headSha, entries, fingerprint: dirtyFingerprint(headSha, states) };
}

/** The work tree has uncommitted changes and allow-dirty is not set: nothing was built or pushed. */
export class DirtyWorkTreeError extends Error {
  override name = 'DirtyWorkTreeError';
}

export interface TagChoice {
  /** The tag the images get. */
  tag: string;
  /** The commit's own tag, `sha-<commit>`. */
  cleanTag: string;
  dirty: boolean;
  /** Set when dirty. */
  fingerprint?: string;
  /** The changed paths (dirty only). */
  entries: StatusEntry[];
  /** For the plan and summary (dirty only). */
  dirtyBuild?: DirtyBuild;
  /** The commit the changes are on (HEAD of the checkout). */
  head?: string;
  info: string[];
  warnings: string[];
}

/**
 * The release tag for what the context holds: the commit's own tag when the checkout is clean (or cannot
 * be checked: no git), the dirty tag with allow-dirty, else a DirtyWorkTreeError listing the changes.
 */
export function chooseTag(options: {
  cleanTag: string;
  sha: string;
  context: string;
  workTree: WorkTree;
  allowDirty: boolean;
}): TagChoice {
  const { cleanTag, sha, context, workTree } = options;
  const clean = { tag: cleanTag, cleanTag, dirty: false, entries: [] };
  if (!workTree.git)
    return {
      ...clean,
      info: [],
      warnings: [
        `Cannot check that the build context holds commit ${sha} unchanged (${workTree.reason}); ` +
          `tagging ${cleanTag} on trust. Build from a git checkout so that uncommitted changes are refused.`,
      ],
    };
  if (!workTree.entries.length || !workTree.fingerprint)
    return {
      ...clean,
      head: workTree.head,
      info: [
        `Work tree clean: ${context} holds ${workTree.head ? `commit ${workTree.head}` : 'its commit'} unchanged.`,
      ],
      warnings: [],
    };
  const tag = dirtyTag(cleanTag, workTree.fingerprint);
  const count = workTree.entries.length;
  const base = workTree.head ? `commit ${workTree.head}` : 'the repository (it has no commit yet)';
  const listing = [
    `${count} ${count === 1 ? 'path differs' : 'paths differ'} from ${base} in the build context ${context} (paths relative to ${workTree.top}):`,
    ...listEntries(workTree.entries),
  ].join('\n');
  if (!options.allowDirty)
    throw new DirtyWorkTreeError(
      `The work tree has uncommitted changes: ${listing}\n` +
        `The images would be tagged ${cleanTag} without being that commit, and a sha tag can never be replaced, so nothing was built or pushed. ` +
        `Commit, remove or git-ignore these files; or set allow-dirty: true to publish this work tree under its own tag, ${tag}.`,
    );
  return {
    tag,
    cleanTag,
    dirty: true,
    fingerprint: workTree.fingerprint,
    entries: workTree.entries,
    dirtyBuild: {
      cleanTag,
      fingerprint: workTree.fingerprint,
      changes: workTree.entries.map((entry) => ({ path: entry.path, what: describeEntry(entry) })),
    },
    head: workTree.head,
    info: [],
    warnings: [
      `allow-dirty: building uncommitted changes. ${listing}\n` +
        `The images are tagged ${tag}, not ${cleanTag} (that tag stays free for a clean build of the commit).`,
    ],
  };
}

/** Everything above, for the action: inspects the work tree and picks the tag (or refuses). */
export async function checkWorkTree(
  executor: Executor,
  options: { context: string; dockerfile: string; sha: string; cleanTag: string; allowDirty: boolean },
): Promise<TagChoice> {
  const workTree = await inspectWorkTree(executor, options.context, options.dockerfile);
  return chooseTag({ ...options, workTree });
}
