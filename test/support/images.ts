import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleDir } from './paths.js';
import type { Sandbox } from './sandbox.js';

export interface ExampleRelease {
  sha: string;
  appImage: string;
  migratorImage: string;
  appDigest: string;
  migratorDigest: string;
}

export function randomSha(): string {
  return Array.from({ length: 40 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
}

/** A throwaway Docker config logged in to the sandbox registry. */
export function withRegistryLogin<T>(sb: Sandbox, fn: (dockerConfig: string) => T): T {
  const dockerConfig = mkdtempSync(join(tmpdir(), 'deployer-docker-config-'));
  try {
    execFileSync('docker', ['login', sb.registry, '--username', sb.registryUsername, '--password-stdin'], {
      input: sb.registryPassword,
      env: { ...process.env, DOCKER_CONFIG: dockerConfig },
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    return fn(dockerConfig);
  } finally {
    rmSync(dockerConfig, { recursive: true, force: true });
  }
}

/** `docker` arguments that build one target of the example app offline, on the sandbox's base image. */
export function exampleBuildArgs(sb: Sandbox, target: string, sha: string): string[] {
  return [
    'buildx',
    'build',
    exampleDir,
    '--target',
    target,
    '--quiet',
    '--build-arg',
    `BASE_IMAGE=${sb.baseImage}`,
    '--build-arg',
    `GIT_SHA=${sha}`,
  ];
}

/** Builds the example's app and migrator by hand and pushes them; returns digest references. */
export function buildAndPushExample(
  sb: Sandbox,
  repository: string,
  options: { sha?: string; neverReady?: boolean; migratorFail?: boolean } = {},
): ExampleRelease {
  const sha = options.sha ?? randomSha();
  return withRegistryLogin(sb, (dockerConfig) => {
    const push = (target: string, name: string): string => {
      const metadata = join(dockerConfig, `${target}.json`);
      execFileSync(
        'docker',
        [
          ...exampleBuildArgs(sb, target, sha),
          '--push',
          '--build-arg',
          `NEVER_READY=${options.neverReady ? 1 : 0}`,
          '--build-arg',
          `MIGRATOR_FAIL=${options.migratorFail ? 1 : 0}`,
          '--tag',
          `${name}:sha-${sha}`,
          '--metadata-file',
          metadata,
        ],
        { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      const digest = JSON.parse(readFileSync(metadata, 'utf8'))['containerimage.digest'] as string;
      if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`no digest in buildx metadata for ${name}`);
      return digest;
    };
    const app = `${sb.registry}/${repository}`;
    const migrator = `${sb.registry}/${repository}-migrator`;
    const appDigest = push('runner', app);
    const migratorDigest = push('migrator', migrator);
    return {
      sha,
      appDigest,
      migratorDigest,
      appImage: `${app}@${appDigest}`,
      migratorImage: `${migrator}@${migratorDigest}`,
    };
  });
}
