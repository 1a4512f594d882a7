import { docker, parseContainerStates, parseIds, type ContainerState } from '../commands/docker.js';
import type { Executor } from '../exec/executor.js';

/** How a Compose project is recognised on the host: by name, or by its folder when the name is not known. */
export type ProjectRef = { name: string } | { workingDir: string };

/**
 * The containers of one Compose service on the host, as `docker inspect` sees them: running ones, or
 * all (stopped too) with `all`. The one container-state reader of deploy, promotion and the tests.
 */
export async function serviceContainers(
  executor: Executor,
  service: string,
  project: ProjectRef,
  { all = false }: { all?: boolean } = {},
): Promise<ContainerState[]> {
  const ids = parseIds((await executor.run(docker.serviceContainers(service, project, all))).stdout);
  if (ids.length === 0) return [];
  // A container removed between the two commands makes inspect fail for it alone: keep the others.
  const { stdout } = await executor.run(docker.inspectContainers(ids), { check: false });
  return parseContainerStates(stdout);
}

/** One container by id as `docker inspect` sees it, in one command; undefined when it is gone. */
export async function containerState(executor: Executor, id: string): Promise<ContainerState | undefined> {
  const { stdout } = await executor.run(docker.inspectContainers([id]), { check: false });
  return parseContainerStates(stdout)[0];
}
