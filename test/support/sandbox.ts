import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { repoRoot } from './paths.js';

export interface Sandbox {
  sshHost: string;
  sshPort: number;
  sshUser: string;
  /** A deploy user whose `docker-compose` is Compose v1 (1.29). */
  sshUserComposeV1: string;
  sshKeyPath: string;
  sshKey: string;
  hostFingerprint: string;
  knownHosts: string;
  registry: string;
  registryUsername: string;
  registryPassword: string;
  baseImage: string;
  deployRoot: string;
}

let cached: Sandbox | undefined;

/** Brings the sandbox up (quick when it already is) and returns its connection facts. */
export function sandbox(): Sandbox {
  if (cached) return cached;
  execFileSync(`${repoRoot}/scripts/sandbox`, ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const text = execFileSync(`${repoRoot}/scripts/sandbox`, ['env'], { encoding: 'utf8' });
  const env = Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const get = (key: string) => {
    const value = env[key];
    if (value === undefined) throw new Error(`scripts/sandbox env did not print ${key}`);
    return value;
  };
  cached = {
    sshHost: get('SANDBOX_SSH_HOST'),
    sshPort: Number(get('SANDBOX_SSH_PORT')),
    sshUser: get('SANDBOX_SSH_USER'),
    sshUserComposeV1: get('SANDBOX_SSH_USER_COMPOSE_V1'),
    sshKeyPath: get('SANDBOX_SSH_KEY_PATH'),
    sshKey: readFileSync(get('SANDBOX_SSH_KEY_PATH'), 'utf8'),
    hostFingerprint: get('SANDBOX_SSH_HOST_FINGERPRINT'),
    knownHosts: get('SANDBOX_SSH_KNOWN_HOSTS'),
    registry: get('SANDBOX_REGISTRY'),
    registryUsername: get('SANDBOX_REGISTRY_USERNAME'),
    registryPassword: get('SANDBOX_REGISTRY_PASSWORD'),
    baseImage: get('SANDBOX_BASE_IMAGE'),
    deployRoot: get('SANDBOX_DEPLOY_ROOT'),
  };
  return cached;
}
