import type { DeployPolicy, ReadinessPolicy } from './policy.js';
import type { ReleaseSpec } from './release.js';
import type { RunIdentity } from './run.js';
import type { SwitchSettings } from './switching.js';
import type { DeployTarget, RegistryCredentials } from './target.js';

/** Everything one deploy needs, grouped by what it is about. */
export interface DeployRequest {
  target: DeployTarget;
  release: ReleaseSpec;
  policy: DeployPolicy;
  readiness: ReadinessPolicy;
  switching: SwitchSettings;
  registry?: RegistryCredentials;
  run: RunIdentity;
}
