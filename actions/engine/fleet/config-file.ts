import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseDeployConfig, resolveEnvironment, type EnvironmentPlan } from '../config/deploy-config.js';
import { InputError } from '../inputs.js';

/** The environment's hosts from the deploy config file in the workspace; every check runs here, before any connection. */
export function loadEnvironmentPlan(file: string, workspace: string, environment: string): EnvironmentPlan {
  const path = isAbsolute(file) ? file : resolve(workspace, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InputError('config-file', `cannot read ${path} (paths are relative to the workspace)`);
  }
  return resolveEnvironment(parseDeployConfig(text, file), environment, (name) => process.env[name]);
}
