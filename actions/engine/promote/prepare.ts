import { DEPLOY_FILES } from '../deploy/files.js';
import { deployRequestFrom, type DeploySettings } from '../deploy/inputs.js';
import type { EventLog } from '../events.js';
import { SshExecutor, type SshTarget } from '../exec/ssh.js';
import { readState } from '../state/store.js';
import type { ReleaseRecord } from '../state/release.js';
import type { DeployRequest } from '../types/deploy.js';
import type { RunIdentity } from '../types/run.js';
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
  run: RunIdentity;
  /** A second gate on GitHub's record of the source's (full) sha: rejects to refuse the promotion. */
  githubGate?: (sha: string) => Promise<void>;
  /** Told the source release once the gate passed (promote-prod's `source-release` output). */
  onVerified?: (release: ReleaseRecord) => void;
}

/** Runs the promotion gate, then returns the deploy request for exactly the source's digests. */
export function preparePromotion(settings: DeploySettings, promotion: Promotion) {
  return async (executor: SshExecutor, log: EventLog): Promise<DeployRequest> => {
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
    if (promotion.githubGate) {
      await promotion.githubGate(release.sha);
      log.info(
        'gate',
        `GitHub records a successful deployment of ${release.sha} in ${promotion.source.environment}`,
      );
    }
    log.info(
      'gate',
      `${promotion.source.environment} runs ${release.id} (${release.sha}) and answers ready: promoting ${release.appImage}`,
    );
    promotion.onVerified?.(release);
    return deployRequestFrom(
      settings,
      promotion.environment,
      {
        kind: 'promote',
        appImage: release.appImage,
        migratorImage: release.migratorImage,
        sha: release.sha,
        runMigrations: promotion.runMigrations,
        composeFileContent: promotion.composeFileContent,
        promotedFrom: {
          environment: promotion.source.environment,
          releaseId: release.id,
          host: release.host,
        },
      },
      promotion.run,
    );
  };
}

/** Finds the rollback target in the environment's own history and returns its deploy request. */
export function prepareRollback(
  settings: DeploySettings,
  rollback: { environment: string; to?: string; runMigrations: boolean; run: RunIdentity },
) {
  return async (executor: SshExecutor, log: EventLog): Promise<DeployRequest> => {
    const state = await readState(
      executor,
      DEPLOY_FILES.paths(settings.deployPath).stateDir,
      rollback.environment,
    );
    const verdict = rollbackTarget(state, rollback.to);
    if (!verdict.ok)
      throw new Error(`Rollback refused, ${rollback.environment} was not touched: ${verdict.reason}`);
    log.info(
      'gate',
      `rolling ${rollback.environment} back to ${verdict.release.id} (${verdict.release.sha})`,
    );
    return deployRequestFrom(
      settings,
      rollback.environment,
      {
        kind: 'rollback',
        appImage: verdict.release.appImage,
        migratorImage: verdict.release.migratorImage,
        sha: verdict.release.sha,
        runMigrations: rollback.runMigrations,
        fromRelease: verdict.release.id,
        rolledBackTo: verdict.release.id,
        promotedFrom: verdict.release.promotedFrom,
      },
      rollback.run,
    );
  };
}
