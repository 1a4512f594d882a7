import type { Executor } from '../exec/executor.js';
import { host } from '../commands/host.js';
import { pinnedDigest } from '../commands/registry.js';
import { parseState, type DeployState, type ReleaseRecord } from './release.js';

/** Reads `.deployer/state.json` on the host; an empty or cut-short file is refused, not taken as fresh. */
export async function readState(
  executor: Executor,
  stateDir: string,
  environment: string,
): Promise<DeployState> {
  const path = `${stateDir}/state.json`;
  const { stdout } = await executor.run(host.readState(path), { timeoutMs: 30_000 });
  const present = stdout.startsWith('present\n');
  return parseState(
    present ? stdout.slice('present\n'.length) : '',
    environment,
    `${executor.where}:${path}`,
    present,
  );
}

/** What a deploy may delete once its attempt is recorded: folders and images beyond the last `keep` successes. */
export function prunePlan(state: DeployState, keep: number): { keepReleaseIds: string[]; images: string[] } {
  const kept = state.history.filter((release) => release.status === 'success').slice(0, keep);
  if (state.current && !kept.some((release) => release.id === state.current!.id)) kept.unshift(state.current);
  const latest = state.history[0];
  const keptImages = new Set(
    [...kept, ...(latest ? [latest] : [])].flatMap((release) => [release.appImage, release.migratorImage]),
  );
  const images = new Set<string>();
  for (const release of state.history)
    for (const image of [release.appImage, release.migratorImage])
      if (!keptImages.has(image) && pinnedDigest(image)) images.add(image);
  return { keepReleaseIds: kept.map((release) => release.id), images: [...images] };
}

/** The audit line of an attempt: the record without its log tail. */
export function auditLine(record: ReleaseRecord): string {
  const { logTail: _logTail, ...rest } = record;
  return JSON.stringify(rest);
}
