import type { Executor } from '../exec/executor.js';
import { host } from '../commands/host.js';
import { parseState, recordRelease, type DeployState, type ReleaseRecord } from './release.js';

/** Reads and writes `.deployer/state.json` and `.deployer/audit.log` on the host (callers hold the lock). */
export class StateStore {
  readonly statePath: string;
  readonly auditPath: string;

  constructor(
    private readonly executor: Executor,
    readonly stateDir: string,
    private readonly environment: string,
  ) {
    this.statePath = `${stateDir}/state.json`;
    this.auditPath = `${stateDir}/audit.log`;
  }

  async read(): Promise<DeployState> {
    const { stdout } = await this.executor.run(host.readFileIfExists(this.statePath));
    return parseState(stdout, this.environment, `${this.executor.where}:${this.statePath}`);
  }

  async record(record: ReleaseRecord): Promise<DeployState> {
    const next = recordRelease(await this.read(), record);
    await this.executor.run(host.writeStateAndAudit(this.statePath, this.auditPath, JSON.stringify(record)), {
      stdin: `${JSON.stringify(next, null, 2)}\n`,
    });
    return next;
  }
}
