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
    await this.executor.run(compose.up(next, [this.appService]), { cwd: this.deployPath });
  }

  async revert(next: ComposeProject, previous: ComposeProject | undefined): Promise<void> {
    if (previous) {
      await this.executor.run(compose.up(previous, [this.appService]), { cwd: this.deployPath });
    } else {
      // No release ran before: stop and remove the new app so nothing is left half-running.
      await this.executor.run(compose.rm(next, [this.appService]), { cwd: this.deployPath });
    }
  }
}
