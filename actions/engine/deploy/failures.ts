import { EXIT } from '../commands/host.js';
import type { CommandResult } from '../exec/executor.js';
import { LeaseLostError } from './lease.js';

/** The release itself failed (as opposed to the connection or the lock): recorded, then undone. */
export class AppFailure extends Error {
  constructor(
    message: string,
    readonly kind: 'migration' | 'not-ready' | 'unstable' | 'pull' | 'other',
    readonly logTail?: string,
  ) {
    super(message);
  }
}

/** A fenced host command that failed: the lock was lost, or the command's own failure, described. */
export function hostCommandFailure(
  kind: 'pull' | 'other',
  result: Pick<CommandResult, 'code' | 'stdout' | 'stderr'>,
  describe: (stderr: string) => string,
): Error {
  if (result.code === EXIT.leaseLost) return new LeaseLostError(result.stderr.trim());
  return new AppFailure(describe(result.stderr || result.stdout), kind);
}

/**
 * A rollout to several hosts halted because another host failed: this host's deploy stops where it
 * is and puts back what it switched (its own release was not at fault).
 */
export class RolloutHaltedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutHaltedError';
  }
}
