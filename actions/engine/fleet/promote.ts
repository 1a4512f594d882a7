import { SshExecutor } from '../exec/ssh.js';
import { checkSameRelease } from '../promote/gate.js';
import { PromotionRefusedError, readyRightNow, verifySource } from '../promote/source.js';
import type { ReleaseRecord } from '../state/release.js';
import type { ResolvedTarget } from './members.js';

/**
 * The promotion gate for a fleet: every host of the source environment must run `requested` as its
 * current successful release, with the recorded images, answer ready now, and all must run the
 * same digests. Returns that release; refuses (nothing touched) otherwise.
 */
export async function verifyFleetSource(
  sourceHosts: ResolvedTarget[],
  sourceEnvironment: string,
  requested: string,
  targetEnvironment: string,
): Promise<ReleaseRecord> {
  const settled = await Promise.allSettled(
    sourceHosts.map(async (host) => {
      const executor = await SshExecutor.connect(host.ssh);
      try {
        const release = await verifySource(
          executor,
          {
            environment: sourceEnvironment,
            deployPath: host.settings.deployPath,
            appService: host.settings['app-service'],
            readiness: readyRightNow(host.settings.readiness),
            endpoint: host.settings.endpoint,
          },
          requested,
          targetEnvironment,
        );
        return { name: host.target.name, release };
      } finally {
        await executor.close();
      }
    }),
  );
  // Every host that refuses is named, not only the first to answer.
  const refusals = settled.flatMap((result, index) =>
    result.status === 'rejected'
      ? [`on ${sourceHosts[index]!.target.name}: ${reasonOf(result.reason as Error)}`]
      : [],
  );
  if (refusals.length) throw new PromotionRefusedError(refusals.join('; '), targetEnvironment);
  const verified = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const verdict = checkSameRelease(verified, sourceEnvironment);
  if (!verdict.ok) throw new PromotionRefusedError(verdict.reason, targetEnvironment);
  return verdict.release;
}

/** A refusal's own reason, without the "Promotion refused, … was not touched" it is wrapped in. */
function reasonOf(error: Error): string {
  return error instanceof PromotionRefusedError
    ? error.message.replace(/^Promotion refused, [^:]*: /, '')
    : error.message;
}
