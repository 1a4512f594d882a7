// What a push, pull request, merge queue entry or scheduled run asks to be scanned, from the event
// payload alone. The git side (fetching, deepening, listing commits) happens in history.ts.
import { z } from 'zod';

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const ZERO_ID = /^0+$/;
const REF = /^refs\/(?!.*\.\.)[A-Za-z0-9._/+@-]+$/;

const objectId = z.string().regex(OBJECT_ID);
const ref = z.string().regex(REF);

/**
 * What to scan when a push's `before` commit cannot be fetched (a force push rewrote it away): the commits
 * not on the default branch (a topic branch), or the whole history of the head (the default branch itself,
 * or no default branch known). Never nothing: the push brought commits.
 */
export type GoneBase = { kind: 'default-branch'; branch: string } | { kind: 'none' };

/** Where the commits to exclude come from. */
export type Base =
  /** Exclude what this commit reaches; when it cannot be fetched, `ifGone` (pull requests: fail). */
  | { kind: 'commit'; sha: string; fetchRef?: string; ifGone?: GoneBase }
  /** Exclude what the default branch reaches: the commits a new branch or tag brings. */
  | { kind: 'default-branch'; branch: string }
  /** Exclude nothing: the whole history of the head (a repository's first push). */
  | { kind: 'none' };

export type ScanScope =
  | {
      kind: 'commits';
      head: { sha: string; fetchRef?: string };
      base: Base;
      /** How many commits the event says it brings (pull requests), to deepen a shallow clone in one go. */
      sizeHint?: number;
      /**
       * The changes come from someone who must not steer the scan (pull requests, merge queues): gitleaks'
       * settings are read from the base commit, and changes to them fail the gate.
       */
      settingsFromBase?: boolean;
      description: string;
    }
  /** `scan-range`: revision names to resolve in the repository. */
  | { kind: 'revisions'; from?: string; to: string; description: string }
  | { kind: 'all'; description: string }
  | { kind: 'nothing'; description: string };

const pullRequestEvent = z.object({
  number: z.number().int().positive(),
  pull_request: z.object({
    head: z.object({ sha: objectId }),
    base: z.object({ sha: objectId, ref: z.string().min(1) }),
    commits: z.number().int().nonnegative().optional(),
  }),
});

const mergeGroupEvent = z.object({
  merge_group: z.object({
    head_sha: objectId,
    head_ref: ref.optional(),
    base_sha: objectId,
    base_ref: ref.optional(),
  }),
});

const pushEvent = z.object({
  ref,
  before: objectId,
  after: objectId,
  created: z.boolean().optional(),
  deleted: z.boolean().optional(),
  forced: z.boolean().optional(),
  repository: z.object({ default_branch: z.string().min(1).optional() }).optional(),
});

export class EventError extends Error {
  constructor(eventName: string, detail: string) {
    super(`Cannot tell what to scan from the ${eventName} event: ${detail}`);
    this.name = 'EventError';
  }
}

const short = (sha: string) => sha.slice(0, 7);

function parse<T>(schema: z.ZodType<T>, eventName: string, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new EventError(eventName, `${issue?.path.join('.') || 'payload'}: ${issue?.message ?? 'invalid'}`);
}

const REVISION = '[A-Za-z0-9_](?:[A-Za-z0-9_/@{}~^+-]|\\.(?!\\.))*';

/** A `scan-range` input: `<rev>` (its whole history) or `<rev>..<rev>`. */
export const SCAN_RANGE = new RegExp(`^(?:(${REVISION})\\.\\.)?(${REVISION})$`);

export function parseScanRange(text: string): { from?: string; to: string } | undefined {
  const match = SCAN_RANGE.exec(text);
  if (!match) return undefined;
  return match[1] ? { from: match[1], to: match[2]! } : { to: match[2]! };
}

export function scanScope(eventName: string, payload: unknown, scanRange?: string): ScanScope {
  if (scanRange) {
    const range = parseScanRange(scanRange);
    if (!range)
      throw new EventError(eventName, `scan-range ${JSON.stringify(scanRange)} is not <rev> or <rev>..<rev>`);
    return { kind: 'revisions', ...range, description: `scan-range ${scanRange}` };
  }
  switch (eventName) {
    case 'pull_request':
    case 'pull_request_target': {
      const event = parse(pullRequestEvent, eventName, payload);
      const { head, base, commits } = event.pull_request;
      return {
        kind: 'commits',
        head: { sha: head.sha, fetchRef: `refs/pull/${event.number}/head` },
        base: { kind: 'commit', sha: base.sha, fetchRef: safeBranchRef(base.ref) },
        sizeHint: commits,
        settingsFromBase: true,
        description: `pull request #${event.number} (${short(base.sha)}..${short(head.sha)})`,
      };
    }
    case 'merge_group': {
      const { merge_group: group } = parse(mergeGroupEvent, eventName, payload);
      return {
        kind: 'commits',
        head: { sha: group.head_sha, fetchRef: group.head_ref },
        base: { kind: 'commit', sha: group.base_sha, fetchRef: group.base_ref },
        settingsFromBase: true,
        description: `merge group ${group.head_ref ?? short(group.head_sha)} (${short(group.base_sha)}..${short(group.head_sha)})`,
      };
    }
    case 'push':
      return pushScope(parse(pushEvent, eventName, payload));
    default:
      return { kind: 'all', description: `full history (${eventName})` };
  }
}

function pushScope(event: z.infer<typeof pushEvent>): ScanScope {
  const name = event.ref.replace(/^refs\/(heads|tags)\//, '');
  const what = event.ref.startsWith('refs/tags/') ? `tag ${name}` : `branch ${name}`;
  if (event.deleted || ZERO_ID.test(event.after)) {
    return { kind: 'nothing', description: `push deleting ${what}` };
  }
  const head = { sha: event.after, fetchRef: event.ref };
  const defaultBranch = validBranch(event.repository?.default_branch);
  if (event.created || ZERO_ID.test(event.before)) {
    if (!defaultBranch || event.ref === `refs/heads/${defaultBranch}`) {
      return {
        kind: 'commits',
        head,
        base: { kind: 'none' },
        description: `push creating ${what}: its whole history up to ${short(event.after)}`,
      };
    }
    return {
      kind: 'commits',
      head,
      base: { kind: 'default-branch', branch: defaultBranch },
      description: `push creating ${what}: commits not on ${defaultBranch} up to ${short(event.after)}`,
    };
  }
  const ifGone: GoneBase =
    defaultBranch && event.ref !== `refs/heads/${defaultBranch}`
      ? { kind: 'default-branch', branch: defaultBranch }
      : { kind: 'none' };
  return {
    kind: 'commits',
    head,
    base: { kind: 'commit', sha: event.before, ifGone },
    description: `${event.forced ? 'force push' : 'push'} to ${what} (${short(event.before)}..${short(event.after)})`,
  };
}

function safeBranchRef(branch: string): string | undefined {
  return validBranch(branch) && `refs/heads/${branch}`;
}

function validBranch(branch: string | undefined): string | undefined {
  return branch !== undefined && REF.test(`refs/heads/${branch}`) ? branch : undefined;
}
