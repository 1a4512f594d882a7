import { execFileSync } from 'node:child_process';
import { repoRoot } from './paths.js';

/** The sandbox engine as a single-node Swarm manager (made on demand by `scripts/sandbox swarm`). */
export function ensureSwarm(): void {
  execFileSync(`${repoRoot}/scripts/sandbox`, ['swarm'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** What `docker service inspect` says of one service of a stack. */
export function inspectService(
  stack: string,
  service: string,
): { image: string; version: number; updateState?: string } | undefined {
  try {
    const [raw] = JSON.parse(docker(['service', 'inspect', `${stack}_${service}`])) as Array<{
      Version: { Index: number };
      Spec: { TaskTemplate: { ContainerSpec: { Image: string } } };
      UpdateStatus?: { State: string };
    }>;
    return {
      image: raw!.Spec.TaskTemplate.ContainerSpec.Image,
      version: raw!.Version.Index,
      updateState: raw!.UpdateStatus?.State,
    };
  } catch {
    return undefined;
  }
}

/** `docker service ps`: image and state of each task meant to run. */
export function runningTasks(stack: string, service: string): Array<{ image: string; state: string }> {
  const lines = docker([
    'service',
    'ps',
    '--no-trunc',
    '--filter',
    'desired-state=running',
    '--format',
    '{{.Image}}\t{{.CurrentState}}',
    `${stack}_${service}`,
  ]);
  return lines
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [image = '', state = ''] = line.split('\t');
      return { image, state: state.split(' ')[0]!.toLowerCase() };
    });
}

/** The services of a stack, by name without the stack prefix. */
export function stackServices(stack: string): string[] {
  const out = docker([
    'service',
    'ls',
    '--filter',
    `label=com.docker.stack.namespace=${stack}`,
    '--format',
    '{{.Name}}',
  ]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((name) => name.slice(stack.length + 1))
    .sort();
}

/** Removes a stack, then (once its containers are gone) its volumes. */
export async function removeStack(stack: string): Promise<void> {
  try {
    docker(['stack', 'rm', stack]);
  } catch {
    return; // not there
  }
  const label = `label=com.docker.stack.namespace=${stack}`;
  const deadline = Date.now() + 60_000;
  while (docker(['ps', '--all', '--quiet', '--filter', label]) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 250));
  const volumes = docker(['volume', 'ls', '--quiet', '--filter', label]).split('\n').filter(Boolean);
  if (volumes.length) execFileSync('docker', ['volume', 'rm', '--force', ...volumes], { stdio: 'ignore' });
}
