import { host } from '../commands/host.js';
import { swarm } from '../commands/swarm.js';
import { lastLines, type Executor } from '../exec/executor.js';
import { DEPLOY_FILES } from '../deploy/files.js';
import { hostCommandFailure } from '../deploy/failures.js';
import type { StrategyContext } from '../deploy/strategy.js';
import { parseInstant, parseStackView, type StackView } from './services.js';

/** The stack as the manager sees it now. */
export async function observeStack(executor: Executor, stack: string): Promise<StackView> {
  return parseStackView((await executor.run(swarm.observe(stack), { timeoutMs: 30_000 })).stdout);
}

/**
 * `docker stack deploy` of one of the release folder's stack files, under the lock and with the
 * registry login forwarded to the nodes. Returns the manager's clock just before the deploy (epoch ms).
 */
export async function deployStackFile(context: StrategyContext, file: string): Promise<number> {
  const { link, fence, request, releaseDir } = context;
  const argv = swarm.stackDeploy(request.target.projectName, file);
  const loginDir = DEPLOY_FILES.paths(request.target.deployPath).loginDir(fence.token);
  const command = request.registry
    ? host.withRegistryLogin(fence, loginDir, request.registry, argv, releaseDir)
    : host.fenced(fence, argv, releaseDir);
  const result = await link.run(command, { stdin: request.registry?.password, check: false });
  if (result.code !== 0)
    throw hostCommandFailure(
      'other',
      result,
      (stderr) => `docker stack deploy --compose-file ${file} failed: ${lastLines(stderr, 10)}`,
    );
  const since = parseInstant(/^since (\S+)$/m.exec(result.stdout)?.[1] ?? '');
  if (!since)
    throw new Error(`docker stack deploy did not report the manager's clock: ${result.stdout.slice(0, 200)}`);
  return since;
}

/** The last lines a service's tasks printed (empty when there are none). */
export async function serviceLogTail(executor: Executor, service: string, lines = 30): Promise<string> {
  const result = await executor.run(swarm.logTail(service, lines), { check: false, timeoutMs: 30_000 });
  return lastLines(`${result.stdout}${result.stderr}`, lines);
}
