// Docker CLI argv lists and the parsers of their output. Pure: no I/O.
import {
  describeManifest,
  INDEX_TYPES,
  isLoopbackRegistry,
  type ManifestJson,
  type RemoteManifest,
} from './registry.js';

/** One image to build: the same for buildx and the legacy builder. */
export interface BuildSpec {
  context: string;
  dockerfile: string;
  target: string;
  /** `registry/repository:tag`. */
  reference: string;
  labels: Record<string, string>;
  buildArgs: Record<string, string>;
  platforms: string[];
  noCache: boolean;
  /** GitHub Actions cache scope; no cache flags when undefined. */
  cacheScope?: string;
}

function keyValueFlags(flag: string, pairs: Record<string, string>): string[] {
  return Object.entries(pairs).flatMap(([key, value]) => [flag, `${key}=${value}`]);
}

/** What the image is and how it is built: the flags `docker build` and `docker buildx build` share. */
export function imageFlags(spec: BuildSpec): string[] {
  return [
    '--file',
    spec.dockerfile,
    '--target',
    spec.target,
    '--tag',
    spec.reference,
    ...(spec.platforms.length ? ['--platform', spec.platforms.join(',')] : []),
    ...keyValueFlags('--build-arg', spec.buildArgs),
    ...keyValueFlags('--label', spec.labels),
    ...(spec.noCache ? ['--no-cache'] : []),
  ];
}

/** A container as `docker inspect` describes it: what it runs and whether it keeps running. */
export interface ContainerState {
  id: string;
  /** Without Docker's leading slash. */
  name?: string;
  /** Host ports its ports are published on (as configured, so a stopped container has them too). */
  hostPorts?: number[];
  /** The image reference as configured (e.g. the digest-pinned reference from deploy.env). */
  image: string;
  imageId: string;
  status: string;
  exitCode: number;
  restarting: boolean;
  restartCount: number;
  startedAt: string;
  /** The Docker health check's status (starting, healthy, unhealthy); undefined without a health check. */
  health?: string;
}

const CONTAINER_STATE_FORMAT =
  '{"id":{{json .Id}},"name":{{json .Name}},"image":{{json .Config.Image}},"imageId":{{json .Image}},"status":{{json .State.Status}},"exitCode":{{.State.ExitCode}},"restarting":{{.State.Restarting}},"restartCount":{{.RestartCount}},"startedAt":{{json .State.StartedAt}},"portBindings":{{json .HostConfig.PortBindings}},"health":{{with index .State "Health"}}{{json .Status}}{{else}}null{{end}}}';

export function parseContainerStates(stdout: string): ContainerState[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const { portBindings, health, ...fields } = JSON.parse(line) as Omit<ContainerState, 'health'> & {
        portBindings?: Record<string, Array<{ HostPort?: string }> | null> | null;
        health?: string | null;
      };
      const state: ContainerState = fields;
      // Docker's template has no State.Health without a health check: `index` reads it as null.
      if (health) state.health = health;
      if (state.name !== undefined) state.name = state.name.replace(/^\//, '');
      if (portBindings !== undefined)
        state.hostPorts = Object.values(portBindings ?? {})
          .flatMap((bindings) => bindings ?? [])
          .map((binding) => Number(binding.HostPort))
          .filter((port) => port > 0);
      return state;
    });
}

/** What `docker events --format '{{json .}}'` prints per container event: the fields the deploy reads. */
interface EventJson {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** One container event: `die` (with the exit code), `oom`, `restart`, `destroy`, `health_status: unhealthy`… */
export interface ContainerEvent {
  action: string;
  /** The container's full id. */
  id: string;
  /** What a `die` event says the process exited with. */
  exitCode?: number;
}

/** The health check's verdict among the events `docker.containerEvents` follows. */
export const UNHEALTHY = 'health_status: unhealthy';

/**
 * The events that end a container's run (`die`: exited or crashed, before any restart; `restart`;
 * `destroy`), say it ran out of memory (`oom`, before its `die`), or that its health check fails.
 */
const WATCHED_EVENTS = ['die', 'oom', 'restart', 'destroy', UNHEALTHY];

/** One line of `docker events --format '{{json .}}'`; anything else (another kind of object, a blank or broken line) is undefined. */
export function parseContainerEvent(line: string): ContainerEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  const event = parsed as EventJson | null;
  if (event?.Type !== 'container' || typeof event.Action !== 'string' || typeof event.Actor?.ID !== 'string')
    return undefined;
  const exitCode = event.Actor.Attributes?.exitCode;
  return {
    action: event.Action,
    id: event.Actor.ID,
    ...(exitCode !== undefined && /^\d+$/.test(exitCode) ? { exitCode: Number(exitCode) } : {}),
  };
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
  /**
   * Streams one container's events that matter to a deploy (WATCHED_EVENTS) as JSON lines, read by
   * `parseContainerEvent`. Unbounded as it is: `host.eventWindow` adds `--since` and `--until`.
   */
  containerEvents(id: string): string[] {
    return [
      'docker',
      'events',
      '--filter',
      'type=container',
      '--filter',
      `container=${id}`,
      ...WATCHED_EVENTS.flatMap((event) => ['--filter', `event=${event}`]),
      '--format',
      '{{json .}}',
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
  removeContainer(...names: string[]): string[] {
    return ['docker', 'rm', '--force', ...names];
  },
  /** Prints the image ID; fails when the image is not in the local store. */
  imageExists(image: string): string[] {
    return ['docker', 'image', 'inspect', '--format', '{{.Id}}', image];
  },
  /** The ports an image EXPOSEs, as JSON (`{"8080/tcp":{}}`, or `null`). */
  exposedPorts(image: string): string[] {
    return ['docker', 'image', 'inspect', '--format', '{{json .Config.ExposedPorts}}', image];
  },
  removeImage(image: string): string[] {
    return ['docker', 'image', 'rm', image];
  },
  /** With the password on stdin, never in argv; into `configDir` (a temporary Docker config) when given. */
  login(registry: string, username: string, configDir?: string): string[] {
    return [
      'docker',
      ...(configDir === undefined ? [] : ['--config', configDir]),
      'login',
      registry,
      '--username',
      username,
      '--password-stdin',
    ];
  },
  pull(reference: string): string[] {
    return ['docker', 'pull', '--quiet', reference];
  },
  /** The last line of its output carries the digest: `parsePushDigest`. */
  push(reference: string): string[] {
    return ['docker', 'push', reference];
  },
  save(image: string, file: string): string[] {
    return ['docker', 'save', '--output', file, image];
  },
  /**
   * Without buildx: `docker manifest inspect`, which needs `--insecure` for plain-HTTP registries.
   * Read by `parseManifestInspect`.
   */
  manifestInspect(reference: string, registry: string): string[] {
    return [
      'docker',
      'manifest',
      'inspect',
      '--verbose',
      ...(isLoopbackRegistry(registry) ? ['--insecure'] : []),
      reference,
    ];
  },
  /** The legacy builder (run with DOCKER_BUILDKIT=0) for hosts without buildx; pushes separately. */
  build(spec: BuildSpec, imageIdFile: string): string[] {
    return ['docker', 'build', ...imageFlags(spec), '--iidfile', imageIdFile, '--', spec.context];
  },
};

/** `sha-…: digest: sha256:… size: 1149`, the last line of `docker push`. */
export function parsePushDigest(output: string): string | undefined {
  const matches = [...output.matchAll(/digest: (sha256:[0-9a-f]{64})/g)];
  return matches.at(-1)?.[1];
}

/** Reads `docker manifest inspect --verbose` output (an object, or an array for a manifest list). */
export function parseManifestInspect(stdout: string): RemoteManifest {
  const parsed = JSON.parse(stdout) as unknown;
  if (Array.isArray(parsed)) {
    return { digest: '', mediaType: INDEX_TYPES[1]!, isIndex: true };
  }
  const entry = parsed as { Descriptor?: { digest?: string }; Raw?: string };
  const raw = entry.Raw ? Buffer.from(entry.Raw, 'base64').toString('utf8') : undefined;
  if (!raw || !entry.Descriptor?.digest) throw new Error('docker manifest inspect printed no manifest');
  return describeManifest(JSON.parse(raw) as ManifestJson, entry.Descriptor.digest);
}
