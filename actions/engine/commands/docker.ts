// Docker CLI argv lists and the parsers of their output. Pure: no I/O.

/** A container as `docker inspect` describes it: what it runs and whether it keeps running. */
export interface ContainerState {
  id: string;
  /** The image reference as configured (e.g. the digest-pinned reference from deploy.env). */
  image: string;
  imageId: string;
  status: string;
  exitCode: number;
  restarting: boolean;
  restartCount: number;
  startedAt: string;
}

const CONTAINER_STATE_FORMAT =
  '{"id":{{json .Id}},"image":{{json .Config.Image}},"imageId":{{json .Image}},"status":{{json .State.Status}},"exitCode":{{.State.ExitCode}},"restarting":{{.State.Restarting}},"restartCount":{{.RestartCount}},"startedAt":{{json .State.StartedAt}}}';

export function parseContainerStates(stdout: string): ContainerState[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ContainerState);
}

/** `docker ps --quiet` output: one container id per line. */
export function parseIds(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

export const docker = {
  /** What containers run and how they are: one JSON object per line, read by `parseContainerStates`. */
  inspectContainers(ids: string[]): string[] {
    return ['docker', 'inspect', '--format', CONTAINER_STATE_FORMAT, ...ids];
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
