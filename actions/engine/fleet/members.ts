import {
  configInputSource,
  explainInputError,
  type ConfigTarget,
  type EnvironmentPlan,
} from '../config/deploy-config.js';
import { readComposeFile, readDeploySettings, type DeploySettings } from '../deploy/inputs.js';
import type { DeploySession } from '../deploy/session.js';
import type { SshTarget } from '../exec/ssh.js';
import { InputError, type InputSource } from '../inputs.js';
import { readSshTarget } from '../ssh-inputs.js';
import type { RolloutMember } from './rollout.js';

/** One host (and role) of the environment with its inputs read and checked, before anything connects. */
export interface ResolvedTarget {
  target: ConfigTarget;
  ssh: SshTarget;
  settings: DeploySettings;
  /** The host the environment's migrator runs on (its first role). */
  migrates: boolean;
}

/**
 * Reads every host's settings (the step's inputs over the config file) and checks them all first:
 * a bad value anywhere fails the step naming the file, line and key, before any host is contacted.
 */
export function resolveTargets(
  plan: EnvironmentPlan,
  given: InputSource,
  workspace: string,
  runMigrations: boolean,
): ResolvedTarget[] {
  const migrating = runMigrations ? plan.targets.find((target) => target.name === plan.migrateOn) : undefined;
  return plan.targets.map((target) =>
    explained(target, given, () => {
      const source = configInputSource(target, given);
      const ssh = readSshTarget('', source);
      if (!ssh) throw new InputError('host', 'is required for every host');
      const settings = readDeploySettings(source, workspace);
      return {
        target,
        ssh: { ...ssh, keepaliveMs: settings['ssh-keepalive'] },
        settings,
        migrates: target === migrating,
      };
    }),
  );
}

/** Each host's compose file from the workspace, checked against its services (the migrator only where it runs). */
export function composeFiles(resolved: ResolvedTarget[], given: InputSource): Map<ResolvedTarget, string> {
  return new Map(
    resolved.map((host) => [
      host,
      explained(host.target, given, () => readComposeFile(host.settings, host.migrates)),
    ]),
  );
}

/** Runs `read`; an input error it raises names the config file's line when the value came from there. */
function explained<T>(target: ConfigTarget, given: InputSource, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw error instanceof InputError ? explainInputError(error, target, given) : error;
  }
}

/** The rollout's members: each resolved host with its deploy request. */
export function rolloutMembers(
  resolved: ResolvedTarget[],
  given: InputSource,
  session: Pick<DeploySession, 'environment' | 'sha'>,
  request: (host: ResolvedTarget) => DeploySession['request'],
): RolloutMember[] {
  return resolved.map((host) => ({
    name: host.target.name,
    role: host.target.role,
    migrates: host.migrates,
    session: {
      ...session,
      target: host.ssh,
      logFormat: host.settings['log-format'],
      request: explained(host.target, given, () => request(host)),
    },
  }));
}
