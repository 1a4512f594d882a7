import type { DeployOutcome, RolloutHolds } from '../deploy/deploy.js';
import { RolloutHaltedError } from '../deploy/failures.js';
import type { DeploySession, DeploySessionResult } from '../deploy/session.js';
import type { Reporter } from '../reporter.js';
import type { ReleaseStatus } from '../state/release.js';
import { planBatches } from './batches.js';

/** One host (and role) of a rollout: deployed, locked and recorded on its own. */
export interface RolloutMember {
  /** The host's name in the deploy config. */
  name: string;
  role: string;
  session: DeploySession;
  /** This member runs the environment's migrator (exactly one does when migrations run). */
  migrates: boolean;
}

export type MemberState = ReleaseStatus | 'not-started';

export interface MemberResult {
  name: string;
  role: string;
  /** `host:port` as connected. */
  host: string;
  /** 1-based; the batch the member was (or would have been) deployed in. */
  batch: number;
  state: MemberState;
  outcome?: DeployOutcome;
  failure?: Error;
}

export interface RolloutResult {
  /** `success` only when every member's release is. */
  status: 'success' | 'failed';
  members: MemberResult[];
  /** Names the host that failed first and what became of the others. */
  failure?: Error;
}

export type DeployOne = (session: DeploySession, reporter: Reporter) => Promise<DeploySessionResult>;

/**
 * Deploys one release to several hosts: each host takes its own lock, uploads and pulls; the
 * migrating host migrates first; batches of `maxParallel` switch one after the other, each once the
 * previous is ready and stable; every host commits only when all are. The first failure halts the
 * rollout: hosts already switched roll back, later batches are never contacted.
 */
export async function rollOut(
  members: readonly RolloutMember[],
  maxParallel: number,
  reporter: Reporter,
  deploy: DeployOne,
): Promise<RolloutResult> {
  return new Rollout(members, maxParallel, reporter, deploy).run();
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

class Rollout {
  private readonly halt = new AbortController();
  private readonly migrated = deferred();
  private readonly everyoneHeld = deferred();
  private readonly batches: RolloutMember[][];
  private readonly results = new Map<RolloutMember, MemberResult>();
  private heldCount = 0;
  private firstFailure: MemberResult | undefined;

  constructor(
    private readonly members: readonly RolloutMember[],
    maxParallel: number,
    private readonly reporter: Reporter,
    private readonly deploy: DeployOne,
  ) {
    this.batches = planBatches(members, maxParallel);
    this.batches.forEach((batch, index) => {
      for (const member of batch)
        this.results.set(member, {
          name: member.name,
          role: member.role,
          host: `${member.session.target.host}:${member.session.target.port}`,
          batch: index + 1,
          state: 'not-started',
        });
    });
    if (!members.some((member) => member.migrates)) this.migrated.resolve();
  }

  async run(): Promise<RolloutResult> {
    const running: Array<Promise<void>> = [];
    for (const [index, batch] of this.batches.entries()) {
      if (this.halt.signal.aborted) break;
      this.reporter.info(
        `Batch ${index + 1} of ${this.batches.length}: ${batch.map((m) => `${m.name} (${m.role})`).join(', ')}`,
      );
      const held = batch.map((member) => {
        const reachedCommit = deferred();
        running.push(this.deployMember(member, reachedCommit));
        return reachedCommit.promise;
      });
      await Promise.all(held);
    }
    await Promise.all(running);
    const members = [...this.results.values()];
    const failed = members.filter((m) => m.state !== 'success');
    if (failed.length === 0) return { status: 'success', members };
    return { status: 'failed', members, failure: new Error(this.failureMessage(members)) };
  }

  /** Runs one member's deploy; `reachedCommit` settles when it waits to commit or has ended. */
  private async deployMember(member: RolloutMember, reachedCommit: Deferred): Promise<void> {
    const result = this.results.get(member)!;
    const holds: RolloutHolds = {
      beforeSwitch: () => {
        if (member.migrates) this.migrated.resolve();
        return this.unlessHalted(this.migrated.promise);
      },
      beforeCommit: () => {
        reachedCommit.resolve();
        if (++this.heldCount === this.members.length) this.everyoneHeld.resolve();
        return this.unlessHalted(this.everyoneHeld.promise);
      },
    };
    // A deploy reports its failure; one that throws all the same is a failure too, never a hang.
    const { outcome, failure } = await this.deploy(
      {
        ...member.session,
        member: `${member.name} (${member.role})`,
        holds,
        halt: this.halt.signal,
      },
      this.reporter,
    ).catch((error: unknown) => ({ outcome: undefined, failure: error as Error }));
    result.outcome = outcome;
    result.failure = failure;
    // Halted while it took its lock: it gave the lock back and changed nothing.
    const haltedEarly = failure instanceof RolloutHaltedError && !outcome;
    result.state = outcome?.release.status ?? (haltedEarly ? 'cancelled' : failure ? 'failed' : 'success');
    if (failure && !(failure instanceof RolloutHaltedError) && !this.halt.signal.aborted) {
      this.firstFailure = result;
      this.halt.abort(
        new RolloutHaltedError(`${member.name} (${result.host}) failed: ${firstLine(failure.message)}`),
      );
    }
    reachedCommit.resolve();
  }

  /** The hold's promise, rejected as soon as the rollout halts. */
  private unlessHalted(promise: Promise<void>): Promise<void> {
    const signal = this.halt.signal;
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const onHalt = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onHalt, { once: true });
      promise.then(() => {
        signal.removeEventListener('abort', onHalt);
        resolve();
      }, reject);
    });
  }

  private failureMessage(members: MemberResult[]): string {
    const first = this.firstFailure ?? members.find((m) => m.state !== 'success')!;
    const names = (states: MemberState[]) =>
      members.filter((m) => m !== first && states.includes(m.state)).map((m) => m.name);
    const parts = [
      `${first.name} (${first.role}, ${first.host}) failed: ${first.failure?.message ?? first.state}`,
    ];
    const listed: Array<[string, MemberState[]]> = [
      ['rolled back', ['rolled_back']],
      ['stopped before switching (app untouched)', ['cancelled']],
      ['FAILED as well', ['failed']],
      ['not contacted', ['not-started']],
      ['committed before the failure', ['success']],
    ];
    for (const [label, states] of listed) {
      const list = names(states);
      if (list.length) parts.push(`${label}: ${list.join(', ')}`);
    }
    return `Rollout halted. ${parts.join('. ')}.`;
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
