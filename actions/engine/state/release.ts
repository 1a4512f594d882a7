import { z } from 'zod';

export const releaseStatuses = ['success', 'failed', 'rolled_back', 'cancelled'] as const;
export type ReleaseStatus = (typeof releaseStatuses)[number];

const releaseSchema = z.object({
  id: z.string(),
  environment: z.string(),
  kind: z.enum(['deploy', 'promote', 'rollback']),
  sha: z.string(),
  appImage: z.string(),
  migratorImage: z.string(),
  status: z.enum(releaseStatuses),
  reason: z.string().optional(),
  logTail: z.string().optional(),
  migrated: z.boolean(),
  /** What became of the migrator: a run that outlived its deploy (cancelled) is `running`. */
  migration: z.enum(['not-run', 'succeeded', 'failed', 'running', 'unknown']).optional(),
  migratorContainer: z.string().optional(),
  /** How the release took over: in place, or next to the old one behind the proxy. */
  strategy: z.enum(['recreate', 'blue-green', 'swarm']).optional(),
  /** A Swarm release: each service of the stack and the image (with digest) its spec pins. */
  services: z.record(z.string(), z.string()).optional(),
  /** The app container a blue-green release runs in. */
  container: z.string().optional(),
  /** Compose project of the release (how its containers are found). */
  projectName: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  actor: z.string(),
  runUrl: z.string().optional(),
  host: z.string(),
  previousReleaseId: z.string().optional(),
  promotedFrom: z
    .object({ environment: z.string(), releaseId: z.string(), host: z.string().optional() })
    .optional(),
  rolledBackTo: z.string().optional(),
});
export type ReleaseRecord = z.infer<typeof releaseSchema>;

const stateSchema = z.object({
  version: z.literal(1),
  environment: z.string(),
  current: releaseSchema.optional(),
  previous: releaseSchema.optional(),
  history: z.array(releaseSchema),
});
/** `<deploy-path>/.deployer/state.json`: what runs now, what ran before, and every attempt, newest first. */
export type DeployState = z.infer<typeof stateSchema>;

export const MAX_HISTORY = 100;

export function emptyState(environment: string): DeployState {
  return { version: 1, environment, history: [] };
}

/** `present` false: no state file, a fresh environment. A file that is there but empty or cut short is refused. */
export function parseState(
  text: string,
  environment: string,
  where: string,
  present = text.trim() !== '',
): DeployState {
  if (!present) return emptyState(environment);
  if (!text.trim())
    throw new Error(
      `${where} is empty: deployer never writes an empty state, so it was truncated or replaced. Restore it (or move it away to start a fresh history) before deploying`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not valid JSON (truncated?); restore it or move it away before deploying`);
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`${where} does not look like deployer state: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Adds an attempt to the history; a successful one becomes current and pushes current to previous. */
export function recordRelease(state: DeployState, record: ReleaseRecord): DeployState {
  const history = [record, ...state.history].slice(0, MAX_HISTORY);
  if (record.status !== 'success') return { ...state, history };
  return { ...state, current: record, previous: state.current ?? state.previous, history };
}

/** `20261123T090512Z-abc1234`: sortable by time, readable, unique per second and commit. */
export function releaseId(startedAt: Date, sha: string): string {
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${sha.slice(0, 7)}`;
}

export function findRelease(state: DeployState, id: string): ReleaseRecord | undefined {
  return state.history.find(
    (release) => release.id === id || (release.status === 'success' && release.sha === id),
  );
}
