import { cancellationSignal } from '../cancellation.js';
import { EventLog, type LogFormat } from '../events.js';
import { SshExecutor, type SshTarget } from '../exec/ssh.js';
import type { Reporter } from '../reporter.js';
import type { DeployRequest } from '../types/deploy.js';
import {
  DeployFailedError,
  runDeploy,
  type DeployContext,
  type DeployOutcome,
  type RolloutHolds,
} from './deploy.js';

export interface DeploySession {
  target: SshTarget;
  /** The request, or a function that prepares it over the same connection (e.g. a promotion gate). */
  request: DeployRequest | ((executor: SshExecutor, log: EventLog) => Promise<DeployRequest>);
  environment: string;
  sha?: string;
  logFormat: LogFormat;
  /** In a rollout to several hosts: this host's name (for the log), its holds and the rollout's halt. */
  member?: string;
  holds?: RolloutHolds;
  halt?: AbortSignal;
  onBegun?: DeployContext['onBegun'];
}

/** What a deploy came to: the outcome when one was recorded, the failure when it failed. */
export interface DeploySessionResult {
  outcome?: DeployOutcome;
  failure?: Error;
}

/**
 * Connects once, deploys over that connection (reconnecting after a transport fault), and closes.
 * SIGINT/SIGTERM cancel the deploy: it undoes and records within the runner's grace period.
 */
export async function deployOverSsh(
  session: DeploySession,
  reporter: Reporter,
): Promise<DeploySessionResult> {
  const log = new EventLog(reporter, session.logFormat, {
    environment: session.environment,
    sha: session.sha,
    host: `${session.target.host}:${session.target.port}`,
    ...(session.member ? { member: session.member } : {}),
  });
  const signal = cancellationSignal((name) =>
    log.warn('cancel', `${name} received: finishing the step in progress, then undoing and unlocking`),
  );
  let executor: SshExecutor | undefined;
  try {
    executor = await SshExecutor.connect(session.target);
    const request =
      typeof session.request === 'function' ? await session.request(executor, log) : session.request;
    log.context.sha = request.release.sha;
    const outcome = await runDeploy(request, {
      executor,
      reconnect: async () =>
        (executor = await SshExecutor.connect({ ...session.target, readyTimeoutMs: 10_000 })),
      log,
      signal,
      holds: session.holds,
      halt: session.halt,
      onBegun: session.onBegun,
    });
    return { outcome };
  } catch (error) {
    return {
      failure: error as Error,
      outcome: error instanceof DeployFailedError ? error.outcome : undefined,
    };
  } finally {
    await executor?.close();
  }
}
