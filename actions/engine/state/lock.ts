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

/** `<deploy-path>/.deployer/lock`: the expiry (epoch seconds, host clock) on its first line, then the owner. */
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
