// Turns a scan scope into an exact commit range in the checkout: fetches the commits the event names
// when the checkout lacks them, and deepens a shallow clone until the range is whole.
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

type Log = (message: string) => void;

export async function prepareRange(
  repo: GitRepository,
  scope: ScanScope,
  log: { info: Log; warning: Log },
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
  log: { info: Log; warning: Log },
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
  log: { info: Log; warning: Log },
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
  log: { info: Log },
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
