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
  rm(project: ComposeProject, services: string[]): string[] {
    return [...composeBase(project), 'rm', '--force', '--stop', ...services];
  },
  logs(project: ComposeProject, service: string, lines: number): string[] {
    return [...composeBase(project), 'logs', '--no-color', '--tail', String(lines), service];
  },
};

export const docker = {
  /** What a container runs: image reference as configured, image id, state. One JSON object per line. */
  inspectContainers(ids: string[]): string[] {
    return [
      'docker',
      'inspect',
      '--format',
      '{"id":{{json .Id}},"image":{{json .Config.Image}},"imageId":{{json .Image}},"status":{{json .State.Status}},"exitCode":{{.State.ExitCode}},"restarting":{{.State.Restarting}},"restartCount":{{.RestartCount}},"startedAt":{{json .State.StartedAt}}}',
      ...ids,
    ];
  },
  /**
   * Containers of a Compose service, found by the labels Compose puts on them: by project name, or by the
   * project's folder when the name is not known (another environment). Running ones, or all with `all`.
   */
  serviceContainers(
    service: string,
    project: { name: string } | { workingDir: string },
    all = false,
  ): string[] {
    const projectFilter =
      'name' in project
        ? `label=com.docker.compose.project=${project.name}`
        : `label=com.docker.compose.project.working_dir=${project.workingDir}`;
    return [
      'docker',
      'ps',
      '--quiet',
      '--no-trunc',
      ...(all ? ['--all'] : []),
      '--filter',
      projectFilter,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    ];
  },
  /** Streams a container's output until it stops. */
  followLogs(name: string): string[] {
    return ['docker', 'logs', '--follow', name];
  },
  logTail(name: string, lines: number): string[] {
    return ['docker', 'logs', '--tail', String(lines), name];
  },
  /** Waits for a container to stop and prints its exit code. */
  wait(name: string): string[] {
    return ['docker', 'wait', name];
  },
  /** Prints `running`, `exited <code>`… for a container, or fails when there is none. */
  containerStatus(name: string): string[] {
    return ['docker', 'inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name];
  },
  removeContainer(name: string): string[] {
    return ['docker', 'rm', '--force', name];
  },
  imageExists(image: string): string[] {
    return ['docker', 'image', 'inspect', '--format', '{{.Id}}', image];
  },
  login(configDir: string, registry: string, username: string): string[] {
    return ['docker', '--config', configDir, 'login', registry, '--username', username, '--password-stdin'];
  },
};
