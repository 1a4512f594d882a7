import type { BuildSpec } from '../commands/docker.js';
import { REPOSITORY_PATTERN } from '../commands/registry.js';
import { InputError } from '../inputs.js';
import type { CommitTime } from './revision.js';

// What one release builds: two images of one Dockerfile, one tag, labels that tie them together.

export type Role = 'app' | 'migrator';

export const LABELS = {
  created: 'org.opencontainers.image.created',
  revision: 'org.opencontainers.image.revision',
  source: 'org.opencontainers.image.source',
  version: 'org.opencontainers.image.version',
  role: 'deployer.release.role',
  app: 'deployer.release.app',
  migrator: 'deployer.release.migrator',
} as const;

const RESERVED_LABELS: string[] = Object.values(LABELS).filter((label) => label !== LABELS.source);
const RESERVED_BUILD_ARGS = ['SOURCE_DATE_EPOCH'];

export interface ReleaseRequest {
  registry: string;
  /** Repository paths without the registry, e.g. `acme/hello`. */
  appRepository: string;
  migratorRepository: string;
  context: string;
  dockerfile: string;
  appTarget: string;
  migratorTarget: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  platforms: string[];
  noCache: boolean;
}

/** A build of uncommitted changes (allow-dirty): tagged apart from the commit's own tag. */
export interface DirtyBuild {
  /** `sha-<commit>`: the commit's own tag, which this build does not use. */
  cleanTag: string;
  /** The short content hash in the tag. */
  fingerprint: string;
  /** The changed paths (relative to the repository root) and what happened to each. */
  changes: { path: string; what: string }[];
}

export interface Revision {
  sha: string;
  tag: string;
  created: CommitTime;
  /** The repository's web address, for org.opencontainers.image.source. */
  sourceUrl?: string;
  /** Set when the images are built from a work tree with uncommitted changes. */
  dirty?: DirtyBuild;
}

export interface ImagePlan {
  role: Role;
  /** `registry/repository`. */
  repository: string;
  /** `registry/repository:tag`. */
  reference: string;
  spec: BuildSpec;
}

export interface ReleasePlan {
  registry: string;
  sha: string;
  tag: string;
  created: CommitTime;
  dirty?: DirtyBuild;
  images: [ImagePlan, ImagePlan];
}

export interface BuilderFeatures {
  /** BuildKit honours SOURCE_DATE_EPOCH; the legacy builder would only warn about an unused argument. */
  sourceDateEpoch: boolean;
  /** Use the GitHub Actions cache. */
  cache: boolean;
}

/** Accepts `acme/hello` or `<registry>/acme/hello`; returns the path. */
export function repositoryPath(value: string, registry: string, input: string): string {
  const path = value.startsWith(`${registry}/`) ? value.slice(registry.length + 1) : value;
  if (!REPOSITORY_PATTERN.test(path)) {
    throw new InputError(
      input,
      `expected a repository name such as acme/hello (lowercase letters, digits, and . _ - / between them), got ${JSON.stringify(value)}`,
    );
  }
  if (`${registry}/${path}`.length > 255)
    throw new InputError(input, 'the image name with its registry is longer than 255 characters');
  return path;
}

/** The action sets these itself; letting a user override them would break the release's promises. */
export function checkExtras(labels: Record<string, string>, buildArgs: Record<string, string>): void {
  for (const key of Object.keys(labels)) {
    if (RESERVED_LABELS.includes(key))
      throw new InputError('labels', `${key} is set by the action and cannot be overridden`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key))
      throw new InputError(
        'labels',
        `expected label keys such as com.example.team, got ${JSON.stringify(key)}`,
      );
  }
  for (const key of Object.keys(buildArgs)) {
    if (RESERVED_BUILD_ARGS.includes(key))
      throw new InputError('build-args', `${key} is set by the action (to the commit time)`);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new InputError(
        'build-args',
        `expected build argument names such as NODE_ENV, got ${JSON.stringify(key)}`,
      );
  }
}

export function planRelease(
  request: ReleaseRequest,
  revision: Revision,
  features: BuilderFeatures,
): ReleasePlan {
  const appRepository = `${request.registry}/${request.appRepository}`;
  const migratorRepository = `${request.registry}/${request.migratorRepository}`;
  const appReference = `${appRepository}:${revision.tag}`;
  const migratorReference = `${migratorRepository}:${revision.tag}`;
  const image = (role: Role, repository: string, reference: string, target: string): ImagePlan => ({
    role,
    repository,
    reference,
    spec: {
      context: request.context,
      dockerfile: request.dockerfile,
      target,
      reference,
      labels: {
        ...(revision.sourceUrl ? { [LABELS.source]: revision.sourceUrl } : {}),
        ...request.labels,
        [LABELS.created]: revision.created.iso,
        [LABELS.revision]: revision.sha,
        [LABELS.version]: revision.tag,
        [LABELS.role]: role,
        [LABELS.app]: appReference,
        [LABELS.migrator]: migratorReference,
      },
      buildArgs: {
        ...request.buildArgs,
        ...(features.sourceDateEpoch ? { SOURCE_DATE_EPOCH: String(revision.created.epoch) } : {}),
      },
      platforms: request.platforms,
      noCache: request.noCache,
      cacheScope: features.cache
        ? `deployer-${role}-${request.appRepository.replace(/[^a-z0-9]+/g, '-')}`
        : undefined,
    },
  });
  return {
    registry: request.registry,
    sha: revision.sha,
    tag: revision.tag,
    created: revision.created,
    ...(revision.dirty ? { dirty: revision.dirty } : {}),
    images: [
      image('app', appRepository, appReference, request.appTarget),
      image('migrator', migratorRepository, migratorReference, request.migratorTarget),
    ],
  };
}

export type Tooling = { kind: 'buildx'; driver: string } | { kind: 'classic' };

/** Several platforms need a builder that can make a multi-platform image; fail before building. */
export function checkPlatforms(platforms: string[], tooling: Tooling): void {
  if (platforms.length <= 1) return;
  if (tooling.kind === 'classic')
    throw new InputError('platforms', 'lists several platforms, but docker buildx is not installed here');
  if (tooling.driver === 'docker')
    throw new InputError(
      'platforms',
      'lists several platforms, but the current buildx builder uses the docker driver, which builds one platform; set up a docker-container builder first (e.g. docker/setup-buildx-action)',
    );
}

export interface CacheDecision {
  use: boolean;
  warning?: string;
}

/** The GitHub Actions cache needs a builder that can export caches and the runner's cache service. */
export function decideCache(requested: boolean, tooling: Tooling, env: NodeJS.ProcessEnv): CacheDecision {
  if (!requested) return { use: false };
  const skip = (why: string) => ({
    use: false,
    warning: `cache: ${why}; building without the GitHub Actions cache.`,
  });
  if (tooling.kind === 'classic') return skip('docker buildx is not installed here');
  if (tooling.driver === 'docker')
    return skip(
      'the current buildx builder uses the docker driver, which cannot export a cache (set up a docker-container builder, e.g. with docker/setup-buildx-action, to use it)',
    );
  if (!env.ACTIONS_RUNTIME_TOKEN || !(env.ACTIONS_CACHE_URL || env.ACTIONS_RESULTS_URL))
    return skip(
      'the runner gave this step no cache service (ACTIONS_RUNTIME_TOKEN / ACTIONS_CACHE_URL are unset)',
    );
  return { use: true };
}
