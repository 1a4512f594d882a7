import {
  compose,
  parseComposeVersion,
  type ComposeFlavor,
  type ComposeProject,
} from '../commands/compose.js';
import { docker } from '../commands/docker.js';
import { EXIT, host, type BeginArgs, type Fence } from '../commands/host.js';
import { classifyRegistryFailure, dockerErrorLine } from '../commands/registry.js';
import type { Executor } from '../exec/executor.js';
import { lastLines } from '../exec/executor.js';
import { parseLock, type LockInfo } from '../state/lock.js';

export async function detectCompose(
  executor: Executor,
  stateDir: string,
  wanted: 'auto' | ComposeFlavor['command'],
): Promise<ComposeFlavor> {
  const result = await executor.run(host.detectCompose(stateDir, wanted), {
    check: false,
    timeoutMs: 30_000,
  });
  const found = /^(docker compose|docker-compose) (.*)$/m.exec(result.stdout.trim());
  const major = found ? parseComposeVersion(found[2]!) : undefined;
  if (!found || major === undefined)
    throw new Error(
      wanted === 'auto'
        ? `Neither \`docker compose\` nor \`docker-compose\` works on ${executor.where}; install Docker Compose there`
        : `\`${wanted} version\` does not work on ${executor.where}: ${(result.stderr || result.stdout).trim()}`,
    );
  return { command: found[1] as ComposeFlavor['command'], major };
}

export type BeginResult =
  | { kind: 'held'; holder: LockInfo }
  | {
      kind: 'begun';
      tookOver?: LockInfo;
      /** state.json's text, or undefined when there is none. */
      stateText: string | undefined;
      /** Where the current link points (relative), or ''. */
      current: string;
      imagesPresent: boolean;
    };

/** Lock + state + the release's files in one round trip. */
export async function begin(executor: Executor, args: BeginArgs): Promise<BeginResult> {
  const result = await executor.run(host.begin(args), { check: false, timeoutMs: 30_000 });
  const stateAt = result.stdout.indexOf('\nstate present\n');
  const head = stateAt >= 0 ? result.stdout.slice(0, stateAt) : result.stdout;
  const lines = new Map(
    head.split('\n').map((line) => [line.split(' ')[0] ?? '', line.slice(line.indexOf(' ') + 1)]),
  );
  const lock = lines.get('lock') ?? '';
  const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  if (result.code === EXIT.lockHeld)
    return { kind: 'held', holder: parseLock(decode(lock.replace(/^held ?/, ''))) };
  if (result.code === EXIT.noEnvFile)
    throw new Error(
      `The env file ${args.envFile} does not exist on ${executor.where}. It holds the app's runtime settings and secrets and never leaves the host: create it there (it may be empty).`,
    );
  if (result.code === EXIT.noReleaseFiles)
    throw new Error(
      `The files of release ${args.source && 'fromRelease' in args.source ? args.source.fromRelease.split('/').pop() : ''} are no longer on ${executor.where} (only the last keep-releases releases are kept), so it cannot be restored exactly as it ran.`,
    );
  if (result.code !== 0)
    throw new Error(
      `Could not take the deploy lock and prepare ${args.releaseDir} on ${executor.where}: ${lastLines(result.stderr || result.stdout, 10)}`,
    );
  return {
    kind: 'begun',
    tookOver: lock.startsWith('took-over') ? parseLock(decode(lock.replace(/^took-over ?/, ''))) : undefined,
    stateText: stateAt >= 0 ? result.stdout.slice(stateAt + '\nstate present\n'.length) : undefined,
    current: lines.get('current') ?? '',
    imagesPresent: lines.get('images') === 'present',
  };
}

/** Why a pull failed, in the user's terms. */
export function describePullFailure(stderr: string): string {
  const kind = classifyRegistryFailure(stderr);
  const detail = dockerErrorLine(stderr) || lastLines(stderr, 3);
  if (kind === 'unreachable') return `the registry is unreachable from the host: ${detail}`;
  if (kind === 'unauthorized') return `the registry refused the credentials or access: ${detail}`;
  if (kind === 'absent') return `the image is not in the registry: ${detail}`;
  return detail;
}

export class MigratorBusyError extends Error {
  constructor(readonly names: string[]) {
    super(`a migrator of this environment is still running: ${names.join(', ')}`);
  }
}

/** Starts the migrator container; throws MigratorBusyError while an earlier one still runs. */
export async function startMigrator(
  executor: Executor,
  fence: Fence,
  project: ComposeProject,
  service: string,
  name: string,
  cwd: string,
): Promise<void> {
  const result = await executor.run(
    host.startMigrator(
      fence,
      { project: project.projectName, service },
      compose.runDetached(project, service, name),
      cwd,
    ),
    { check: false },
  );
  if (result.code === EXIT.migratorBusy)
    throw new MigratorBusyError(
      result.stdout
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean),
    );
  if (result.code !== 0)
    throw new Error(`could not start the migrator: ${lastLines(result.stderr || result.stdout, 15)}`);
}

/** `running`, or the exit code once the container stopped; undefined when there is no such container. */
export async function migratorStatus(
  executor: Executor,
  name: string,
): Promise<{ running: true } | { running: false; exitCode: number } | undefined> {
  const result = await executor.run(docker.containerStatus(name), { check: false, timeoutMs: 30_000 });
  if (result.code !== 0) return undefined;
  const [status = '', code = ''] = result.stdout.trim().split(' ');
  if (status === 'running' || status === 'created' || status === 'restarting') return { running: true };
  return { running: false, exitCode: Number(code) };
}

/** Waits for a container to stop and returns its exit code. */
export async function waitForContainer(
  executor: Executor,
  name: string,
  timeoutMs?: number,
): Promise<number> {
  const result = await executor.run(docker.wait(name), { timeoutMs });
  return Number(result.stdout.trim());
}
