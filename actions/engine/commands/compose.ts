// Docker Compose argv lists. Pure: no I/O; run them with an Executor in the deploy path.

/** `docker compose` (v2 plugin) or the standalone `docker-compose` (v1, or v2 installed standalone). */
export type ComposeFlavor = { command: 'docker compose' | 'docker-compose'; major: number };

export interface ComposeProject {
  flavor: ComposeFlavor;
  projectName: string;
  composeFile: string;
  /** The one env file used for variable interpolation (deploy.env, or deploy.env.next during a deploy). */
  envFile: string;
}

export function parseComposeVersion(output: string): number | undefined {
  const match = /(\d+)\.\d+/.exec(output.trim());
  return match ? Number(match[1]) : undefined;
}

export function composeBase(project: ComposeProject): string[] {
  const head = project.flavor.command === 'docker compose' ? ['docker', 'compose'] : ['docker-compose'];
  return [
    ...head,
    '--project-name',
    project.projectName,
    '--file',
    project.composeFile,
    '--env-file',
    project.envFile,
  ];
}

export const compose = {
  pull(project: ComposeProject, services: string[]): string[] {
    return [...composeBase(project), 'pull', '--quiet', ...services];
  },
  /** Starts (or recreates) services without touching their dependencies. */
  up(project: ComposeProject, services: string[], options: { recreate?: boolean } = {}): string[] {
    return [
      ...composeBase(project),
      'up',
      '--detach',
      '--no-deps',
      '--no-build',
      ...(options.recreate ? ['--force-recreate'] : []),
      ...services,
    ];
  },
  /** Accessories (databases, caches) are ensured running; their dependencies may start too. */
  ensureRunning(project: ComposeProject, services: string[]): string[] {
    return [...composeBase(project), 'up', '--detach', '--no-build', ...services];
  },
  /** The migrator as a named one-off container in the background: it outlives a lost connection. */
  runDetached(project: ComposeProject, service: string, name: string): string[] {
    return [...composeBase(project), 'run', '--detach', '--name', name, '--no-deps', service];
  },
  /** The project as Compose resolves it (variables filled in), as JSON. */
  config(project: ComposeProject): string[] {
    return [...composeBase(project), 'config', '--format', 'json'];
  },
  /**
   * A blue-green app container: a named container of the service next to the running one, its port
   * published on its slot's loopback port, labelled with its release. (`run` drops the service's
   * restart policy: `host.launchApp` sets it again.)
   */
  runApp(
    project: ComposeProject,
    service: string,
    spec: { name: string; port: number; hostPort: number; labels: Record<string, string> },
  ): string[] {
    return [
      ...composeBase(project),
      'run',
      '--detach',
      '--name',
      spec.name,
      '--no-deps',
      '--use-aliases',
      '--publish',
      `127.0.0.1:${spec.hostPort}:${spec.port}`,
      ...Object.entries(spec.labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
      service,
    ];
  },
  rm(project: ComposeProject, services: string[]): string[] {
    return [...composeBase(project), 'rm', '--force', '--stop', ...services];
  },
  logs(project: ComposeProject, service: string, lines: number): string[] {
    return [...composeBase(project), 'logs', '--no-color', '--tail', String(lines), service];
  },
};
