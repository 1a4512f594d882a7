import type { ComposeProject } from '../commands/compose.js';
import type { Fence } from '../commands/host.js';
import type { EventLog } from '../events.js';
import type { ReadinessResult } from '../readiness/index.js';
import type { ReleaseRecord } from '../state/release.js';
import type { DeployRequest } from '../types/deploy.js';
import type { WatchedApp } from './app-watch.js';
import type { Migrator } from './migrator.js';
import type { HostLink } from './host-link.js';

/** What a switch strategy works with: the deploy's connection, lock, release and its files. */
export interface StrategyContext {
  link: HostLink;
  fence: Fence;
  log: EventLog;
  request: DeployRequest;
  releaseId: string;
  releaseDir: string;
  /** The new release's compose project (its files in the release folder). */
  project: ComposeProject;
  /** The release that runs now, when there is one. */
  previous?: { record?: ReleaseRecord; project: ComposeProject };
}

/**
 * How the new release's app takes over from the running one. The deploy calls, in order:
 * `prepare`, `launch`, (readiness and stability of `watched()`), `cutOver`, then the commit, then
 * `retire`; after a failure between `launch` and the commit, `revert`.
 */
export interface SwitchStrategy {
  /** Step names, as the log and the timings show them. */
  readonly steps: { prepare?: string; launch: string; cutOver?: string; retire?: string };
  /** Before migrations: what must be in place for the switch (blue-green: the proxy). */
  prepare(): Promise<void>;
  /** Starts the new release's app: in place of the running one, or next to it. */
  launch(): Promise<void>;
  /** The new app container, as readiness and the stability watch follow it (unless the strategy `converge`s). */
  watched?(): WatchedApp;
  /**
   * Readiness and stability in one, when the platform has its own (Swarm: the services' update with
   * its healthchecks and monitor window); throws an AppFailure when the release is not ready.
   */
  converge?(signal: AbortSignal): Promise<ReadinessResult>;
  /** The platform's own pull (Swarm: `docker pull` on the manager); undefined: `compose pull`. */
  pullCommand?(): string[];
  /** The platform's own migrator run (Swarm: a one-off job service); undefined: a Compose container. */
  migrator?(name: string): Migrator;
  /** Sends the traffic to the new release once it is ready and stable. */
  cutOver(): Promise<void>;
  /** After the commit: the old release's app goes. Failures are the caller's to report. */
  retire(signal: AbortSignal): Promise<string | undefined>;
  /** Puts back what served before `launch`; says whether the previous release serves again. */
  revert(settleBy: number): Promise<{ restored: boolean; message: string }>;
  /** What the release record says about the switch. */
  recordFields(): Partial<ReleaseRecord>;
}
