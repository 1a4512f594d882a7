import type { Executor } from '../exec/executor.js';
import { host, LOCK_HELD } from '../commands/host.js';

export interface LockOwner {
  token: string;
  environment: string;
  sha: string;
  actor: string;
  runId: string;
  runUrl?: string;
  startedAt: string;
}

export interface LockInfo {
  expiresAt: Date | undefined;
  owner: string;
}

export class LockTimeoutError extends Error {
  constructor(waitedMs: number, holder: LockInfo) {
    super(
      `Another deploy holds the lock and did not release it within ${Math.round(waitedMs / 1000)} s: ${describeLock(holder)}. ` +
        'It will be taken over once it expires; raise lock-timeout to wait longer.',
    );
    this.name = 'LockTimeoutError';
  }
}

export function parseLock(text: string): LockInfo {
  const [first = '', ...rest] = text.trim().split('\n');
  const seconds = Number(first);
  return {
    expiresAt: Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000) : undefined,
    owner: rest.join('\n'),
  };
}

export function describeLock(lock: LockInfo): string {
  let owner = lock.owner;
  try {
    const parsed = JSON.parse(lock.owner) as Partial<LockOwner>;
    owner = `run ${parsed.runId} by ${parsed.actor} (sha ${parsed.sha?.slice(0, 12)}, ${parsed.environment}, started ${parsed.startedAt})${parsed.runUrl ? ` ${parsed.runUrl}` : ''}`;
  } catch {
    // keep the raw text
  }
  return `${owner}, expires ${lock.expiresAt?.toISOString() ?? 'unknown'}`;
}

/** `<deploy-path>/.deployer/lock`: one deploy at a time per deploy path, with an expiry. */
export class HostLock {
  constructor(
    private readonly executor: Executor,
    readonly dir: string,
  ) {}

  /** Waits up to `waitMs`; an expired lock is taken over (returned so the caller can warn). */
  async acquire(
    owner: LockOwner,
    options: {
      ttlMs: number;
      waitMs: number;
      pollMs?: number;
      signal?: AbortSignal;
      onWait?: (holder: LockInfo) => void;
    },
  ): Promise<{ tookOver?: LockInfo }> {
    const started = Date.now();
    let announced = false;
    for (;;) {
      const result = await this.executor.run(
        host.acquireLock(this.dir, JSON.stringify(owner), Math.ceil(options.ttlMs / 1000)),
        {
          check: false,
        },
      );
      const [verdict, ...rest] = result.stdout.split('\n');
      if (result.code === 0 && verdict === 'acquired') return {};
      if (result.code === 0 && verdict === 'took-over') return { tookOver: parseLock(rest.join('\n')) };
      if (result.code !== LOCK_HELD) {
        throw new Error(
          `Could not take the deploy lock in ${this.dir} on ${this.executor.where}: ${result.stderr.trim() || result.stdout.trim()}`,
        );
      }
      const holder = parseLock(rest.join('\n'));
      if (!announced) options.onWait?.(holder);
      announced = true;
      if (Date.now() - started >= options.waitMs) throw new LockTimeoutError(Date.now() - started, holder);
      if (options.signal?.aborted) throw new Error('Cancelled while waiting for the deploy lock');
      await delay(
        Math.min(options.pollMs ?? 2000, Math.max(0, options.waitMs - (Date.now() - started))),
        options.signal,
      );
    }
  }

  async release(token: string): Promise<boolean> {
    const result = await this.executor.run(host.releaseLock(this.dir, token), { check: false });
    return result.stdout.trim() === 'released';
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
