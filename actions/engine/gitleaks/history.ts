// Turns a scan scope into an exact commit range in the checkout: fetches the commits the event names
// when the checkout lacks them, and deepens a shallow clone until the range is whole.
//
// A pull request says how many commits it brings (N). In a shallow clone its head is deepened by exactly
// N, which holds every commit of base..head with its parents; the base's own history is fetched only as
// far as it must be for git to tell which of those commits the base already has (usually not at all: a
// pull request that forks from its base's tip finds the base among the head's parents). The range is
// taken once git lists exactly N commits, none of them cut off from its parents, and head and base meet;
// anything else falls back to deepening both ends, then to the whole history.
import type { Reporter } from '../reporter.js';
import type { GitRepository } from './git.js';
import type { Base, ScanScope } from './scope.js';

export interface ScanRange {
  /** What gitleaks passes to `git log -p -U0` (one word each: gitleaks splits --log-opts on spaces). */
  logOpts: string[];
  /** Every commit in the range, newest first, as `git rev-list` lists them. */
  commits: string[];
  description: string;
  /** The commits the range runs between, where it has both ends (not for a full-history scan). */
  head?: string;
  base?: string;
}

export type HistoryStep = { kind: 'done' } | { kind: 'deepen'; by: number } | { kind: 'unshallow' };

export const MAX_DEEPEN_ROUNDS = 4;

/** How much of the base's history a pull request's range may fetch, round by round, before falling back. */
export const BASE_DEPTHS = [100, 400, 1600];

export interface ListedRange {
  /** What `git rev-list base..head` lists in the clone as it is. */
  commits: string[];
  /** Parents of listed commits that the base reaches here (`rev-list --boundary`): where base and head meet. */
  parentsOutside: string[];
  /** The clone's shallow boundary: commits whose parents it lacks. */
  boundary: ReadonlySet<string>;
  /** How many commits the range really has (a pull request's count). */
  size: number;
}

export type RangeVerdict =
  /** Exactly the range: see judgeRange. */
  | 'whole'
  /** More commits than the range has: some are the base's, whose history is not deep enough to say so. */
  | 'base-short'
  /** Fewer commits, or cut off ones, that the base's history cannot explain: the slow path decides. */
  | 'unsure';

/**
 * Whether what git lists in a shallow clone is exactly the range. When no listed commit lacks its parents,
 * every commit of the range is listed (walking from the head, git can only stop at a commit the base
 * reaches, or at a cut); so a list of exactly `size` commits is the range itself, and head and base must
 * meet in it (a listed commit has a parent the base reaches, or nothing is listed).
 */
export function judgeRange(listed: ListedRange): RangeVerdict {
  const cut = listed.commits.some((sha) => listed.boundary.has(sha));
  const meets = listed.parentsOutside.length > 0 || listed.commits.length === 0;
  if (!cut && meets && listed.commits.length === listed.size) return 'whole';
  return listed.commits.length > listed.size ? 'base-short' : 'unsure';
}

export interface HistoryFacts {
  shallow: boolean;
  hasBase: boolean;
  /** The head and the base share an ancestor in the local history. */
  mergeBaseFound: boolean;
  /** A commit of the range is a shallow boundary: its parents are missing, so the range may be cut short. */
  rangeHitsBoundary: boolean;
  round: number;
  sizeHint?: number;
}

/** What to do next so that the range is whole: the decision alone, from the facts git gave. */
export function nextHistoryStep(facts: HistoryFacts): HistoryStep {
  if (!facts.shallow) return { kind: 'done' };
  if (!facts.rangeHitsBoundary && (!facts.hasBase || facts.mergeBaseFound)) return { kind: 'done' };
  if (!facts.hasBase || facts.round >= MAX_DEEPEN_ROUNDS) return { kind: 'unshallow' };
  const first = Math.max(50, (facts.sizeHint ?? 0) + 1);
  return { kind: 'deepen', by: first * 2 ** facts.round };
}

/** `git log` arguments for the commits `head` reaches and `base` does not (all of them without a base). */
export function rangeLogOpts(head: string, base?: string): string[] {
  return base ? [`${base}..${head}`] : [head];
}

export const FULL_HISTORY_LOG_OPTS = ['--full-history', '--all'];

export class HistoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HistoryError';
  }
}

type Log = Pick<Reporter, 'info' | 'warning'>;

export async function prepareRange(
  repo: GitRepository,
  scope: ScanScope,
  log: Log,
): Promise<ScanRange | undefined> {
  switch (scope.kind) {
    case 'nothing':
      return undefined;
    case 'all': {
      if (await repo.isShallow()) {
        log.info('The checkout is shallow: fetching the whole history');
        const fetched = await repo.fetch([], { unshallow: true });
        if (!fetched.ok) throw new HistoryError(`Cannot fetch the whole history: ${fetched.error}`);
      }
      const commits = await repo.revList(FULL_HISTORY_LOG_OPTS);
      return { logOpts: FULL_HISTORY_LOG_OPTS, commits, description: scope.description };
    }
    case 'revisions': {
      const head = await resolveNamed(repo, scope.to);
      const base = scope.from === undefined ? undefined : await resolveNamed(repo, scope.from);
      return wholeRange(repo, head, base, scope.description, log);
    }
    case 'commits': {
      const shallow = await repo.isShallow();
      if (shallow && scope.sizeHint && scope.base.kind === 'commit') {
        const range = await pullRequestRange(repo, scope.head, scope.base, scope.sizeHint, scope, log);
        if (range) return range;
      }
      const head = await obtain(repo, scope.head.sha, scope.head.fetchRef, shallow);
      if (!head) throw new HistoryError(`Cannot fetch the head commit ${scope.head.sha} from ${repo.remote}`);
      const base = await obtainBase(repo, scope.base, shallow, log);
      const range = await wholeRange(repo, head, base, scope.description, log, scope.sizeHint);
      const replaced = scope.base.kind === 'commit' ? scope.base.sha : undefined;
      if (replaced && base !== undefined && base !== replaced && range.commits.length === 0) {
        log.warning(
          `Every commit of ${scope.head.sha.slice(0, 7)} is on the default branch, yet the push replaced ` +
            `${replaced.slice(0, 7)}: scanning the whole history of ${scope.head.sha.slice(0, 7)}`,
        );
        return wholeRange(repo, head, undefined, scope.description, log);
      }
      return range;
    }
  }
}

async function resolveNamed(repo: GitRepository, name: string): Promise<string> {
  const sha = await repo.resolve(name);
  if (!sha) throw new HistoryError(`scan-range: "${name}" names no commit in this repository`);
  return sha;
}

/** The commit, fetched by id (then by ref) when the checkout lacks it; undefined when the remote has neither. */
async function obtain(
  repo: GitRepository,
  sha: string,
  fetchRef: string | undefined,
  shallow: boolean,
): Promise<string | undefined> {
  const present = await repo.resolve(sha);
  if (present) return present;
  const depth = shallow ? { depth: 1 } : {};
  if ((await repo.fetch([sha], depth)).ok) return repo.resolve(sha);
  if (fetchRef && (await repo.fetch([fetchRef], depth)).ok) return repo.resolve(sha);
  return undefined;
}

async function obtainBase(
  repo: GitRepository,
  base: Base,
  shallow: boolean,
  log: Log,
): Promise<string | undefined> {
  if (base.kind === 'none') return undefined;
  if (base.kind === 'commit') {
    const sha = await obtain(repo, base.sha, base.fetchRef, shallow);
    if (sha) return sha;
    if (!base.ifGone) throw new HistoryError(`Cannot fetch the base commit ${base.sha} from ${repo.remote}`);
    const gone = `The commit before the push (${base.sha.slice(0, 7)}) is gone from ${repo.remote}, as after a force push that rewrote it`;
    if (base.ifGone.kind === 'none') {
      log.warning(`${gone}: scanning the whole history of the pushed commit instead`);
      return undefined;
    }
    log.warning(`${gone}: scanning every commit not on ${base.ifGone.branch} instead`);
    return defaultBranchTip(repo, base.ifGone.branch, shallow, log);
  }
  return defaultBranchTip(repo, base.branch, shallow, log);
}

async function defaultBranchTip(
  repo: GitRepository,
  branch: string,
  shallow: boolean,
  log: Log,
): Promise<string | undefined> {
  const fetched = await repo.fetch([`refs/heads/${branch}`], shallow ? { depth: 1 } : {});
  const tip = fetched.ok ? await repo.fetchedHead() : undefined;
  if (!tip) log.warning(`Cannot fetch ${branch} from ${repo.remote}: scanning the whole history of the head`);
  return tip;
}

async function wholeRange(
  repo: GitRepository,
  head: string,
  base: string | undefined,
  description: string,
  log: Pick<Reporter, 'info'>,
  sizeHint?: number,
): Promise<ScanRange> {
  const logOpts = rangeLogOpts(head, base);
  const wants = base ? [head, base] : [head];
  for (let round = 0; ; round++) {
    const shallow = await repo.isShallow();
    const boundary = shallow ? await repo.shallowBoundary() : new Set<string>();
    const commits = await repo.revList(logOpts);
    const step = nextHistoryStep({
      shallow,
      hasBase: base !== undefined,
      mergeBaseFound: base === undefined || !shallow || (await repo.mergeBase(head, base)) !== undefined,
      rangeHitsBoundary: commits.some((sha) => boundary.has(sha)),
      round,
      sizeHint,
    });
    if (step.kind === 'done') return { logOpts, commits, description, head, base };
    if (step.kind === 'deepen') {
      log.info(`The checkout is shallow and cuts the range short: deepening it by ${step.by} commits`);
      const fetched = await repo.fetch(wants, { deepen: step.by });
      if (!fetched.ok) throw new HistoryError(`Cannot deepen the checkout: ${fetched.error}`);
      continue;
    }
    log.info('The checkout is shallow and cuts the range short: fetching the whole history');
    const fetched = await repo.fetch(wants, { unshallow: true });
    if (!fetched.ok) throw new HistoryError(`Cannot fetch the whole history: ${fetched.error}`);
    if (await repo.isShallow()) {
      const again = await repo.revList(logOpts);
      const boundaryNow = await repo.shallowBoundary();
      if (again.some((sha) => boundaryNow.has(sha))) {
        throw new HistoryError('The history stays shallow after --unshallow; cannot list the whole range');
      }
      return { logOpts, commits: again, description, head, base };
    }
  }
}

/**
 * The range of a pull request of `size` commits in a shallow clone, fetching only what it needs: the head
 * deepened by `size` (all the range's commits and their parents), then, if git still lists commits the base
 * has, the base's history in growing depths. Undefined when that does not give exactly `size` commits (a
 * commit count that does not match the event's commits, a base or head the remote will not give by id):
 * the caller then takes the slow path, which deepens both ends and reports what cannot be fetched.
 */
async function pullRequestRange(
  repo: GitRepository,
  head: { sha: string },
  base: { sha: string },
  size: number,
  scope: { description: string },
  log: Pick<Reporter, 'info'>,
): Promise<ScanRange | undefined> {
  // A checkout of the head at depth 1 (actions/checkout's default) has the head as its cut: nothing to
  // look up, the head must be deepened. Otherwise the range may already be whole (a deeper checkout).
  let headSha: string | undefined;
  if ((await repo.shallowBoundary()).has(head.sha)) headSha = head.sha;
  else {
    const present = await repo.commitsPresent([head.sha, base.sha]);
    headSha = present.get(head.sha);
    const listed =
      headSha && present.has(base.sha) ? await listRange(repo, base.sha, headSha, size) : undefined;
    if (listed && judgeRange(listed) === 'whole') return exactRange(repo, base.sha, headSha!, listed, scope);
  }

  log.info(
    `The checkout is shallow: deepening it by ${size} commits from the head ${head.sha.slice(0, 7)}, ` +
      'as many as the pull request has',
  );
  // --deepen counts from the head's current cut and never shortens history the checkout has; a head
  // the checkout lacks is fetched with its `size` parents' generations in the same request.
  const fetched = await repo.fetch([head.sha], headSha ? { deepen: size } : { depth: size + 1 });
  if (!fetched.ok) return undefined;
  const headNow = headSha ?? (await repo.resolve(head.sha));
  if (!headNow) return undefined;

  for (let round = 0; ; round++) {
    const now = await listRange(repo, base.sha, headNow, size);
    const verdict = now ? judgeRange(now) : 'base-short';
    if (verdict === 'whole') return exactRange(repo, base.sha, headNow, now!, scope);
    if (verdict === 'unsure' || round >= BASE_DEPTHS.length) return undefined;
    const depth = BASE_DEPTHS[round]!;
    log.info(
      now
        ? `The range lists ${now.commits.length} commits, not ${size}: fetching ${depth} commits of the base's history`
        : `Fetching the base ${base.sha.slice(0, 7)} with ${depth} commits of its history`,
    );
    // --depth counts from the base alone, so it fetches no history below the fork point, but it would cut
    // the base's own history where the checkout has more: --deepen (which also deepens the fork point's
    // cut) when the base already has parents here.
    const baseHasParents = now !== undefined && !now.boundary.has(base.sha);
    if (!(await repo.fetch([base.sha], baseHasParents ? { deepen: depth } : { depth })).ok) return undefined;
  }
}

async function listRange(
  repo: GitRepository,
  base: string,
  head: string,
  size: number,
): Promise<ListedRange | undefined> {
  const listed = await repo.rangeWithBoundary(base, head);
  if (!listed) return undefined;
  return { ...listed, boundary: await repo.shallowBoundary(), size };
}

function exactRange(
  repo: GitRepository,
  base: string,
  head: string,
  listed: ListedRange,
  scope: { description: string },
): ScanRange {
  // The base is a parent of a listed commit (or the head itself): it is where the two meet.
  if (listed.parentsOutside.includes(base) || head === base) repo.rememberAncestor(base, head);
  return {
    logOpts: rangeLogOpts(head, base),
    commits: listed.commits,
    description: scope.description,
    head,
    base,
  };
}
