import * as core from '@actions/core';
import type { DeployRequest } from '../deploy/deploy.js';
import { DEPLOY_FILES } from '../deploy/files.js';
import { deployRequestFrom, type DeploySettings } from '../deploy/inputs.js';
import { SshExecutor, type SshTarget } from '../exec/ssh.js';
import { readState } from '../state/store.js';
import { rollbackTarget } from './gate.js';
import { verifySource, type SourceEnvironment } from './source.js';

export interface Promotion {
  requested: string;
  environment: string;
  source: SourceEnvironment;
  /** The source's own SSH connection; undefined when it is on the target host. */
  sourceTarget?: SshTarget;
  composeFileContent: string;
  runMigrations: boolean;
}

/** Runs the promotion gate, then returns the deploy request for exactly the source's digests. */
export function preparePromotion(settings: DeploySettings, promotion: Promotion) {
  return async (executor: SshExecutor): Promise<DeployRequest> => {
    const sourceExecutor = promotion.sourceTarget
      ? await SshExecutor.connect(promotion.sourceTarget)
      : executor;
    let release;
    try {
      release = await verifySource(
        sourceExecutor,
        promotion.source,
        promotion.requested,
        promotion.environment,
      );
    } finally {
      if (sourceExecutor !== executor) await sourceExecutor.close();
    }
    core.info(
      `${promotion.source.environment} runs ${release.id} (${release.sha}) and answers ready: promoting ${release.appImage}`,
    );
    core.setOutput('source-release', release.id);
    return deployRequestFrom(settings, {
      environment: promotion.environment,
      kind: 'promote',
      appImage: release.appImage,
      migratorImage: release.migratorImage,
      sha: release.sha,
      runMigrations: promotion.runMigrations,
      composeFileContent: promotion.composeFileContent,
      promotedFrom: { environment: promotion.source.environment, releaseId: release.id, host: release.host },
    });
  };
}

/** Finds the rollback target in the environment's own history and returns its deploy request. */
export function prepareRollback(
  settings: DeploySettings,
  rollback: { environment: string; to?: string; runMigrations: boolean },
) {
  return async (executor: SshExecutor): Promise<DeployRequest> => {
    const state = await readState(
      executor,
      DEPLOY_FILES.paths(settings.deployPath).stateDir,
      rollback.environment,
    );
    const verdict = rollbackTarget(state, rollback.to);
    if (!verdict.ok)
      throw new Error(`Rollback refused, ${rollback.environment} was not touched: ${verdict.reason}`);
    core.info(`Rolling ${rollback.environment} back to ${verdict.release.id} (${verdict.release.sha})`);
    return deployRequestFrom(settings, {
      environment: rollback.environment,
      kind: 'rollback',
      appImage: verdict.release.appImage,
      migratorImage: verdict.release.migratorImage,
      sha: verdict.release.sha,
      runMigrations: rollback.runMigrations,
      fromRelease: verdict.release.id,
      rolledBackTo: verdict.release.id,
      promotedFrom: verdict.release.promotedFrom,
    });
  };
}
