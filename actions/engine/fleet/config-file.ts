import {
  parseDeployConfig,
  resolveEnvironment,
  type DeployConfig,
  type EnvironmentPlan,
} from '../config/deploy-config.js';
import { readWorkspaceFile } from '../deploy/inputs.js';

/** The deploy config file in the workspace, read and checked once (before any connection). */
export function loadDeployConfig(file: string, workspace: string): DeployConfig {
  return parseDeployConfig(readWorkspaceFile('config-file', file, workspace), file);
}

/** One environment's hosts, their `{ env: NAME }` references read from the step's environment. */
export function environmentPlan(config: DeployConfig, environment: string): EnvironmentPlan {
  return resolveEnvironment(config, environment, (name) => process.env[name]);
}
