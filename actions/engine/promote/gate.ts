import type { ContainerState } from '../commands/docker.js';
import type { DeployState, ReleaseRecord } from '../state/release.js';
import { tasksRunning, type StackView } from '../swarm/services.js';

export type GateVerdict = { ok: true; release: ReleaseRecord } | { ok: false; reason: string };

/** What the gate looks at in a running container. */
export type RunningContainer = Pick<ContainerState, 'image' | 'imageId' | 'status'>;

function describe(release: ReleaseRecord | undefined): string {
  return release
    ? `${release.sha} (release ${release.id}, ${release.status})`
    : 'nothing (no successful release recorded)';
}

/** The requested sha (or release id) must be the source environment's current, successful release. */
export function checkSourceRelease(
  state: DeployState,
  requested: string,
  sourceEnvironment: string,
): GateVerdict {
  if (state.environment !== sourceEnvironment) {
    return {
      ok: false,
      reason: `the source deploy path holds ${state.environment}'s state, not ${sourceEnvironment}'s`,
    };
  }
  const current = state.current;
  const matches =
    current && (current.id === requested || (requested.length >= 7 && current.sha.startsWith(requested)));
  if (!current || !matches) {
    const latest = state.history[0];
    const attempt =
      latest && latest !== current && (latest.id === requested || latest.sha.startsWith(requested))
        ? ` Its latest attempt at ${requested} ended ${latest.status}${latest.reason ? `: ${latest.reason}` : ''}.`
        : '';
    return {
      ok: false,
      reason: `${sourceEnvironment} does not currently run ${requested}; it runs ${describe(current)}.${attempt}`,
    };
  }
  if (current.status !== 'success')
    return { ok: false, reason: `${sourceEnvironment}'s current release ${current.id} is ${current.status}` };
  return { ok: true, release: current };
}

/** The app container must run exactly the recorded image (same reference and same image id). */
export function checkRunningContainers(
  release: ReleaseRecord,
  running: RunningContainer[],
  recordedImageId: string | undefined,
  sourceEnvironment: string,
): GateVerdict {
  if (running.length === 0) return { ok: false, reason: `no ${sourceEnvironment} app container is running` };
  const other = running.find(
    (container) =>
      container.image !== release.appImage ||
      (recordedImageId !== undefined && container.imageId !== recordedImageId),
  );
  if (other) {
    return {
      ok: false,
      reason: `${sourceEnvironment}'s app container runs ${other.image} (${other.imageId.slice(0, 19)}), not the recorded ${release.appImage}${recordedImageId ? ` (${recordedImageId.slice(0, 19)})` : ''}`,
    };
  }
  const stopped = running.find((container) => container.status !== 'running');
  if (stopped) return { ok: false, reason: `${sourceEnvironment}'s app container is ${stopped.status}` };
  return { ok: true, release };
}

/**
 * A Swarm release: every service the record names must still have the recorded spec image (its
 * digest, as Swarm reports it), no update or rollback under way, and all its tasks running (healthy).
 */
export function checkRunningStack(
  release: ReleaseRecord,
  view: StackView,
  sourceEnvironment: string,
): GateVerdict {
  const recorded = Object.entries(release.services ?? {});
  if (recorded.length === 0)
    return { ok: false, reason: `${sourceEnvironment}'s release ${release.id} names no Swarm services` };
  for (const [name, image] of recorded) {
    const service = view.services.find((candidate) => candidate.name === name);
    if (!service) return { ok: false, reason: `${sourceEnvironment}'s service ${name} is not in the swarm` };
    if (service.image !== image)
      return {
        ok: false,
        reason: `${sourceEnvironment}'s service ${name} runs ${service.image}, not the recorded ${image}`,
      };
    if (service.update && !/^(completed|rollback_completed)$/.test(service.update.state))
      return {
        ok: false,
        reason: `${sourceEnvironment}'s service ${name} is ${service.update.state}: ${service.update.message}`,
      };
    const running = tasksRunning(service, view.tasks);
    if (!running.all)
      return {
        ok: false,
        reason: `${sourceEnvironment}'s service ${name} is not ready right now: ${running.detail}`,
      };
  }
  return { ok: true, release };
}

/** Rollback target: a named release from production's history that once succeeded, or the previous one. */
export function rollbackTarget(state: DeployState, requested: string | undefined): GateVerdict {
  if (!requested) {
    if (!state.previous)
      return { ok: false, reason: `${state.environment} has no previous release to roll back to` };
    return { ok: true, release: state.previous };
  }
  const found = state.history.find(
    (release) =>
      release.status === 'success' &&
      (release.id === requested || (requested.length >= 7 && release.sha.startsWith(requested))),
  );
  if (!found) {
    const known = state.history
      .filter((r) => r.status === 'success')
      .slice(0, 10)
      .map((r) => `${r.id}`);
    return {
      ok: false,
      reason: `${requested} is not a successful release in ${state.environment}'s history${known.length ? `; known releases: ${known.join(', ')}` : ''}`,
    };
  }
  if (state.current && found.id === state.current.id)
    return { ok: false, reason: `${requested} is what ${state.environment} runs now (${found.id})` };
  return { ok: true, release: found };
}

/** One source host's verified release, by the host's name in the deploy config. */
export interface SourceHostRelease {
  name: string;
  release: ReleaseRecord;
}

/**
 * Every source host must run the same images, pinned to the same digests: a fleet half-way through
 * a deploy (or one whose hosts drifted) is not one release that can be promoted.
 */
export function checkSameRelease(hosts: SourceHostRelease[], sourceEnvironment: string): GateVerdict {
  const [first, ...others] = hosts;
  if (!first) return { ok: false, reason: `${sourceEnvironment} has no hosts` };
  const differs = others.find(
    (host) =>
      host.release.appImage !== first.release.appImage ||
      host.release.migratorImage !== first.release.migratorImage,
  );
  if (differs)
    return {
      ok: false,
      reason: `${sourceEnvironment}'s hosts do not run the same release: ${first.name} runs ${first.release.appImage} with ${first.release.migratorImage}, ${differs.name} runs ${differs.release.appImage} with ${differs.release.migratorImage}`,
    };
  return { ok: true, release: first.release };
}
