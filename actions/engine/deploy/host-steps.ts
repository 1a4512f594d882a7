import {
  compose,
  detectComposeCommands,
  docker,
  parseComposeVersion,
  type ComposeFlavor,
  type ComposeProject,
} from '../commands/compose.js';
import { host } from '../commands/host.js';
import type { Executor } from '../exec/executor.js';
import type { EventLog } from '../events.js';
import type { DeployRequest } from './deploy.js';

export async function detectCompose(
  executor: Executor,
  wanted: DeployRequest['composeCommand'],
): Promise<ComposeFlavor> {
  const candidates = wanted === 'auto' ? (['docker compose', 'docker-compose'] as const) : [wanted];
  for (const command of candidates) {
    const argv =
      command === 'docker compose' ? detectComposeCommands.plugin : detectComposeCommands.standalone;
    const result = await executor.run(argv, { check: false });
    const major = result.code === 0 ? parseComposeVersion(result.stdout) : undefined;
    if (major !== undefined) return { command, major };
  }
  throw new Error(
    `Neither \`docker compose\` nor \`docker-compose\` works on ${executor.where}; install Docker Compose there`,
  );
}

export async function pullImages(
  executor: Executor,
  request: DeployRequest,
  next: ComposeProject,
  log: EventLog,
  signal?: AbortSignal,
): Promise<void> {
  const services = [
    request.appService,
    ...(request.runMigrations ? [request.migratorService] : []),
    ...request.accessories,
  ];
  if (!request.pull) {
    const missing = [];
    for (const image of [request.appImage, ...(request.runMigrations ? [request.migratorImage] : [])]) {
      if ((await executor.run(docker.imageExists(image), { check: false })).code !== 0) missing.push(image);
    }
    if (missing.length === 0) {
      log.info('pull', 'images are already on the host; no pull needed');
      return;
    }
    log.info('pull', `not on the host any more, pulling: ${missing.join(', ')}`);
  }
  let configDir: string | undefined;
  try {
    const env: string[] = [];
    if (request.registry) {
      configDir = (await executor.run(host.makeTempDir())).stdout.trim();
      await executor.run(docker.login(configDir, request.registry.server, request.registry.username), {
        stdin: request.registry.password,
      });
      env.push('env', `DOCKER_CONFIG=${configDir}`);
    }
    await executor.run([...env, ...compose.pull(next, services)], { cwd: request.deployPath, signal });
  } finally {
    if (configDir) await executor.run(host.remove(configDir), { check: false });
  }
}
