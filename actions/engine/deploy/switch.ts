import type { Executor } from '../exec/executor.js';
import { compose, type ComposeProject } from '../commands/compose.js';

/**
 * How the new release takes over from the old one. Today: recreate the app service in place.
 * A zero-downtime blue-green strategy plugs in here (start next to the old one, switch the proxy,
 * stop the old one) without touching the rest of the deploy flow.
 */
export interface SwitchStrategy {
  readonly name: string;
  /** Starts the new release's app service. */
  start(next: ComposeProject): Promise<void>;
  /** Puts the previous release back, or removes the new app when there was none. */
  revert(next: ComposeProject, previous: ComposeProject | undefined): Promise<void>;
}

export class RecreateStrategy implements SwitchStrategy {
  readonly name = 'recreate';

  constructor(
    private readonly executor: Executor,
    private readonly deployPath: string,
    private readonly appService: string,
  ) {}

  async start(next: ComposeProject): Promise<void> {
    await this.replaceApp(next);
  }

  async revert(next: ComposeProject, previous: ComposeProject | undefined): Promise<void> {
    if (previous) {
      await this.replaceApp(previous);
    } else {
      // No release ran before: stop and remove the new app so nothing is left half-running.
      await this.executor.run(compose.rm(next, [this.appService]), { cwd: this.deployPath });
    }
  }

  private async replaceApp(project: ComposeProject): Promise<void> {
    if (project.flavor.major < 2) {
      // Compose v1 cannot recreate a container whose image BuildKit built once Docker is 25 or newer
      // (KeyError: 'ContainerConfig'): remove the old container first, then create the new one.
      await this.executor.run(compose.rm(project, [this.appService]), { cwd: this.deployPath });
    }
    await this.executor.run(compose.up(project, [this.appService]), { cwd: this.deployPath });
  }
}
