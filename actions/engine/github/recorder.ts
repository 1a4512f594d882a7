import type { ReleaseRecord } from '../state/release.js';
import {
  commitStatusParams,
  createDeploymentParams,
  deploymentStatusParams,
  describeAttempt,
  finalStates,
  listDeploymentsParams,
  refusedForPermission,
  type DeploymentFacts,
  type Repository,
} from './deployments.js';

/** The three REST calls the recorder makes (Octokit's `rest.repos` has them; tests may pass their own). */
export interface GitHubRest {
  createDeployment(
    params: ReturnType<typeof createDeploymentParams>,
  ): Promise<{ status: number; data: unknown }>;
  createDeploymentStatus(params: ReturnType<typeof deploymentStatusParams>): Promise<unknown>;
  createCommitStatus(params: ReturnType<typeof commitStatusParams>): Promise<unknown>;
  listDeployments(params: ReturnType<typeof listDeploymentsParams>): Promise<{ data: Array<{ id: number }> }>;
  /** The deployment's statuses, newest first. */
  listDeploymentStatuses(
    params: Repository & { deployment_id: number },
  ): Promise<{ data: Array<{ state: string }> }>;
}

type Permission = 'deployments: write' | 'statuses: write';

/**
 * Records a deploy on GitHub as it goes: a deployment (`in_progress`, then its outcome) and the commit
 * status `deployer/<environment>`. GitHub is a record, never a gate of the deploy itself: a missing token
 * or permission is a warning naming the permission, and that kind of call is not tried again.
 */
export class GitHubDeploymentRecorder {
  private deploymentId: number | undefined;
  private readonly refused = new Set<Permission>();

  constructor(
    private readonly rest: GitHubRest,
    private readonly repository: Repository,
    private readonly warn: (message: string) => void,
  ) {}

  /** The deploy holds the lock and knows its release: it is in progress. */
  async begin(facts: DeploymentFacts): Promise<void> {
    await this.call('deployments: write', async () => {
      const created = await this.rest.createDeployment(createDeploymentParams(this.repository, facts));
      const id = (created.data as { id?: unknown }).id;
      if (created.status !== 201 || typeof id !== 'number')
        throw new Error(
          `GitHub did not create the deployment (${created.status}): ${JSON.stringify(created.data)}`,
        );
      this.deploymentId = id;
      await this.rest.createDeploymentStatus(
        deploymentStatusParams(this.repository, id, 'in_progress', {
          description: `deploying release ${facts.releaseId}`,
          runUrl: facts.runUrl,
        }),
      );
    });
    await this.call('statuses: write', () =>
      this.rest.createCommitStatus(
        commitStatusParams(this.repository, facts, 'pending', {
          description: `deploying release ${facts.releaseId}`,
        }),
      ),
    );
  }

  /** The attempt was recorded on the host: the same outcome on GitHub. */
  async finish(
    facts: DeploymentFacts,
    release: Pick<ReleaseRecord, 'id' | 'status' | 'reason'>,
    environmentUrl?: string,
  ): Promise<void> {
    const states = finalStates(release.status);
    const description = describeAttempt(release);
    const id = this.deploymentId;
    if (id !== undefined)
      await this.call('deployments: write', async () => {
        for (const state of states.deployment)
          await this.rest.createDeploymentStatus(
            deploymentStatusParams(this.repository, id, state, {
              description,
              runUrl: facts.runUrl,
              environmentUrl: state === 'success' ? environmentUrl : undefined,
            }),
          );
        // auto_inactive spares production environments: the release this one replaced is marked by hand.
        if (release.status === 'success' && facts.production)
          await this.supersede(facts, id, `superseded by release ${release.id}`);
      });
    await this.call('statuses: write', () =>
      this.rest.createCommitStatus(
        commitStatusParams(this.repository, facts, states.commit, {
          description,
          targetUrl: release.status === 'success' ? (environmentUrl ?? facts.runUrl) : facts.runUrl,
        }),
      ),
    );
  }

  /** Marks the environment's earlier deployments that still stand at `success` inactive. */
  private async supersede(facts: DeploymentFacts, id: number, description: string): Promise<void> {
    const { data: deployments } = await this.rest.listDeployments(
      listDeploymentsParams(this.repository, facts.environment),
    );
    for (const earlier of deployments.filter((deployment) => deployment.id < id)) {
      const { data: statuses } = await this.rest.listDeploymentStatuses({
        ...this.repository,
        deployment_id: earlier.id,
      });
      if (statuses[0]?.state === 'success')
        await this.rest.createDeploymentStatus(
          deploymentStatusParams(this.repository, earlier.id, 'inactive', { description }),
        );
    }
  }

  private async call(permission: Permission, work: () => Promise<unknown>): Promise<void> {
    if (this.refused.has(permission)) return;
    try {
      await work();
    } catch (error) {
      if (refusedForPermission(error)) {
        this.refused.add(permission);
        this.warn(
          `GitHub refused to record the deploy (${(error as { status: number }).status} ${(error as Error).message}): the token needs \`${permission}\` (permissions: { ${permission} } in the job). The deploy itself is not affected.`,
        );
      } else {
        this.warn(
          `Could not record the deploy on GitHub: ${(error as Error).message}. The deploy itself is not affected.`,
        );
      }
    }
  }
}
