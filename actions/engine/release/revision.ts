import { git } from '../commands/git.js';
import type { Executor } from '../exec/executor.js';

// Which commit a release is, what it is tagged, and when that commit was made.

export const SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
export const SHORT_SHA_LENGTH = 7;

const PULL_REQUEST_EVENTS = [
  'pull_request',
  'pull_request_target',
  'pull_request_review',
  'pull_request_review_comment',
];

export interface ShaSources {
  /** The `sha` input, already validated; wins when set. */
  input?: string;
  eventName: string;
  /** The parsed GITHUB_EVENT_PATH payload. */
  event: unknown;
  /** GITHUB_SHA: on pull requests the merge commit, which is not what the tag should name. */
  githubSha?: string;
}

export interface PickedSha {
  sha: string;
  from: string;
}

export function pickSha(sources: ShaSources): PickedSha {
  if (sources.input) return { sha: sources.input.toLowerCase(), from: 'the sha input' };
  if (PULL_REQUEST_EVENTS.includes(sources.eventName)) {
    const head = (sources.event as { pull_request?: { head?: { sha?: unknown } } } | undefined)?.pull_request
      ?.head?.sha;
    if (typeof head === 'string' && SHA_PATTERN.test(head.toLowerCase()))
      return { sha: head.toLowerCase(), from: `the pull request's head commit (${sources.eventName} event)` };
  }
  const sha = sources.githubSha?.toLowerCase();
  if (sha && SHA_PATTERN.test(sha)) return { sha, from: 'GITHUB_SHA' };
  throw new Error(
    'cannot tell which commit is being built: set the sha input (GITHUB_SHA is missing or not a commit id)',
  );
}

export function releaseTag(sha: string, short: boolean): string {
  return `sha-${short ? sha.slice(0, SHORT_SHA_LENGTH) : sha}`;
}

export interface CommitTime {
  /** RFC 3339 in UTC, e.g. 2024-05-01T12:00:00Z. */
  iso: string;
  /** Seconds since the epoch: SOURCE_DATE_EPOCH. */
  epoch: number;
  from: string;
}

export function commitTimeFrom(timestamp: string, from: string): CommitTime | undefined {
  const millis = Date.parse(timestamp.trim());
  if (!timestamp.trim() || Number.isNaN(millis)) return undefined;
  const epoch = Math.floor(millis / 1000);
  return { iso: new Date(epoch * 1000).toISOString().replace('.000Z', 'Z'), epoch, from };
}

/** The push event carries the commit's time; nothing else in a payload does for an arbitrary sha. */
export function commitTimeFromEvent(event: unknown, sha: string): CommitTime | undefined {
  const head = (event as { head_commit?: { id?: unknown; timestamp?: unknown } } | undefined)?.head_commit;
  if (typeof head?.id !== 'string' || head.id.toLowerCase() !== sha || typeof head.timestamp !== 'string')
    return undefined;
  return commitTimeFrom(head.timestamp, 'the push event (head_commit.timestamp)');
}

/** Not the build's wall-clock time: a fallback must give the same answer on every re-run. */
export const FALLBACK_COMMIT_TIME: CommitTime = {
  iso: '1970-01-01T00:00:00Z',
  epoch: 0,
  from: 'the fallback (the Unix epoch)',
};

export interface CommitTimeLookup {
  time: CommitTime;
  /** Set when the time is the fallback or the checkout is not the tagged commit. */
  warnings: string[];
}

/**
 * The committer time of `sha`, asked of git in the build context (so a rebuild of one commit gets one
 * time), else the push event's, else the epoch. Also warns when the context is checked out at another
 * commit than the one the tag will name (e.g. the merge commit of a pull request).
 */
export async function lookUpCommitTime(
  executor: Executor,
  context: string,
  sha: string,
  event: unknown,
): Promise<CommitTimeLookup> {
  const warnings: string[] = [];
  const head = await executor.run(git.head(), { cwd: context, check: false }).catch(() => undefined);
  const inGit = head?.code === 0;
  const headSha = head?.stdout.trim().toLowerCase();
  if (inGit && headSha && headSha !== sha) {
    warnings.push(
      `The build context is checked out at ${headSha}, but the images will be tagged ${sha}. ` +
        'On pull requests check out the head commit (actions/checkout with ref: ${{ github.event.pull_request.head.sha }}) so the tag names what was built.',
    );
  }
  if (inGit) {
    const shown = await executor.run(git.commitTime(sha), { cwd: context, check: false });
    const time = shown.code === 0 ? commitTimeFrom(shown.stdout, `git (commit ${sha})`) : undefined;
    if (time) return { time, warnings };
  }
  const fromEvent = commitTimeFromEvent(event, sha);
  if (fromEvent) return { time: fromEvent, warnings };
  const gitSays = head?.stderr.trim().split('\n')[0];
  const reason = inGit
    ? 'git does not have that commit; fetch it (actions/checkout fetch-depth)'
    : `the context is not in a git checkout${gitSays ? `: ${gitSays}` : ''}`;
  warnings.push(
    `Cannot read the time of commit ${sha} (${reason}); ` +
      `using ${FALLBACK_COMMIT_TIME.iso} for org.opencontainers.image.created and SOURCE_DATE_EPOCH, so that re-runs stay reproducible.`,
  );
  return { time: FALLBACK_COMMIT_TIME, warnings };
}
