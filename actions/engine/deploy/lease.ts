import { host } from '../commands/host.js';
import type { Executor } from '../exec/executor.js';
import type { Fence } from '../commands/host.js';

/** The deploy lock was taken by another deploy (it expired while this one could not renew it). */
export class LeaseLostError extends Error {
  constructor(detail: string) {
    super(detail || 'the deploy lock is no longer held by this deploy');
    this.name = 'LeaseLostError';
  }
}

/**
 * Keeps the deploy lock alive: renews its expiry every third of its time to live, so a long
 * migration never lets another deploy take over. A renewal that finds the lock gone reports it.
 */
export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  constructor(
    private readonly executor: Executor,
    private readonly fence: Fence,
    private readonly ttlMs: number,
    private readonly onLost: (error: LeaseLostError) => void,
  ) {}

  start(): void {
    this.stop();
    this.timer = setInterval(() => void this.renew(), Math.max(1_000, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renew(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      const result = await this.executor.run(
        host.renewLock(this.fence.lock, this.fence.token, Math.ceil(this.ttlMs / 1000)),
        { timeoutMs: Math.max(1_000, Math.floor(this.ttlMs / 3)), check: false },
      );
      if (this.timer && result.stdout.trim() === 'lost') {
        this.stop();
        this.onLost(
          new LeaseLostError(
            `the deploy lock ${this.fence.lock} was taken over by another deploy while this one ran`,
          ),
        );
      }
    } catch {
      // A lost connection is the deploy's own concern: it reconnects and the lease starts again.
    } finally {
      this.renewing = false;
    }
  }
}
