import { compose, type ComposeProject } from '../commands/compose.js';
import { host } from '../commands/host.js';
import type { ContainerState } from '../commands/docker.js';
import { lastLines, type Executor } from '../exec/executor.js';
import { serviceContainers } from '../state/containers.js';
import { askReadiness, restoredReadiness, type WatchedApp } from './app-watch.js';
import { hostCommandFailure } from './failures.js';
import type { StrategyContext, SwitchStrategy } from './strategy.js';

/** Replaces the app container in place (`compose up`): simple, with an outage while it restarts. */
export class RecreateStrategy implements SwitchStrategy {
  readonly steps = { launch: 'switch' };

  constructor(private readonly context: StrategyContext) {}

  async prepare(): Promise<void> {}

  launch(): Promise<void> {
    return this.startApp(this.context.project);
  }

  watched(): WatchedApp {
    const { request, project } = this.context;
    const service = request.target.services.app;
    return {
      service,
      image: request.release.appImage,
      endpoint: request.readiness.endpoint,
      state: (executor) => this.appState(executor, project),
      logTail: async (executor) => {
        const result = await executor.run(compose.logs(project, service, 30), {
          cwd: request.target.deployPath,
          check: false,
        });
        return lastLines(`${result.stdout}${result.stderr}`, 30);
      },
    };
  }

  async cutOver(): Promise<void> {}

  async retire(): Promise<undefined> {
    return undefined;
  }

  recordFields() {
    return { strategy: 'recreate' as const };
  }

  /** Puts the previous release back (or removes a first release) and checks it answers ready. */
  async revert(settleBy: number): Promise<{ restored: boolean; message: string }> {
    const { request, previous, log, link } = this.context;
    if (!previous) {
      await this.fencedCompose(compose.rm(this.context.project, [request.target.services.app]));
      return { restored: false, message: 'first deploy here: the new app was stopped and removed' };
    }
    await this.startApp(previous.project);
    const settings = {
      ...restoredReadiness(request),
      timeoutMs: Math.max(500, Math.min(request.readiness.settings.timeoutMs, settleBy - Date.now() - 1_000)),
    };
    const check = await askReadiness(settings, request.readiness.endpoint, link, () =>
      this.appState(link, previous.project),
    );
    const message = check.ready
      ? `the previous release answers ready again${previous.record ? ` (${previous.record.id})` : ''}`
      : `the previous release is NOT ready either: ${check.reason}`;
    log[check.ready ? 'info' : 'error']('rollback', message);
    return { restored: check.ready, message };
  }

  private async appState(executor: Executor, project: ComposeProject): Promise<ContainerState | undefined> {
    const service = this.context.request.target.services.app;
    return (await serviceContainers(executor, service, { name: project.projectName }, { all: true }))[0];
  }

  private async startApp(project: ComposeProject): Promise<void> {
    const service = [this.context.request.target.services.app];
    if (project.flavor.major < 2) {
      // Compose v1 cannot recreate a container whose image BuildKit built once Docker is 25 or newer
      // (KeyError: 'ContainerConfig'): remove the old container first, then create the new one.
      await this.fencedCompose(compose.rm(project, service), project);
    }
    await this.fencedCompose(compose.up(project, service), project);
  }

  private async fencedCompose(argv: string[], project = this.context.project): Promise<void> {
    const dir = project.composeFile.replace(/\/[^/]+$/, '');
    const result = await this.context.link.run(host.fenced(this.context.fence, argv, dir), { check: false });
    if (result.code !== 0)
      throw hostCommandFailure(
        'other',
        result,
        (stderr) =>
          `\`${argv.slice(argv.indexOf('--env-file') + 2).join(' ')}\` failed: ${lastLines(stderr, 10)}`,
      );
  }
}
