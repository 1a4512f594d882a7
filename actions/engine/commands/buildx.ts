// What to run to build and push one image, and how to read what the builders print. No I/O here.

export interface BuildSpec {
  context: string;
  dockerfile: string;
  target: string;
  /** `registry/repository:tag`. */
  reference: string;
  labels: Record<string, string>;
  buildArgs: Record<string, string>;
  platforms: string[];
  noCache: boolean;
  /** GitHub Actions cache scope; no cache flags when undefined. */
  cacheScope?: string;
}

export const BUILDX_VERSION_ARGV = ['docker', 'buildx', 'version'];
export const BUILDER_INSPECT_ARGV = ['docker', 'buildx', 'inspect'];

function keyValueFlags(flag: string, pairs: Record<string, string>): string[] {
  return Object.entries(pairs).flatMap(([key, value]) => [flag, `${key}=${value}`]);
}

/**
 * `docker buildx build` for one target. Provenance and SBOM attestations are off: they record the
 * build's wall-clock time, so two builds of one commit could never be byte-identical with them.
 */
export function buildxBuildArgv(spec: BuildSpec, output: 'push' | 'load', metadataFile: string): string[] {
  return [
    'docker',
    'buildx',
    'build',
    '--progress=plain',
    ...imageFlags(spec),
    '--provenance=false',
    '--sbom=false',
    ...(spec.cacheScope
      ? [
          '--cache-from',
          `type=gha,scope=${spec.cacheScope}`,
          // ignore-error: a cache that cannot be saved must never fail a release.
          '--cache-to',
          `type=gha,mode=max,scope=${spec.cacheScope},ignore-error=true`,
        ]
      : []),
    '--metadata-file',
    metadataFile,
    output === 'push' ? '--push' : '--load',
    '--',
    spec.context,
  ];
}

/** What the image is and how it is built: the same for buildx and the legacy builder. */
function imageFlags(spec: BuildSpec): string[] {
  return [
    '--file',
    spec.dockerfile,
    '--target',
    spec.target,
    '--tag',
    spec.reference,
    ...(spec.platforms.length ? ['--platform', spec.platforms.join(',')] : []),
    ...keyValueFlags('--build-arg', spec.buildArgs),
    ...keyValueFlags('--label', spec.labels),
    ...(spec.noCache ? ['--no-cache'] : []),
  ];
}

/** The legacy builder (run with DOCKER_BUILDKIT=0) for hosts without buildx; pushes separately. */
export function classicBuildArgv(spec: BuildSpec, imageIdFile: string): string[] {
  return ['docker', 'build', ...imageFlags(spec), '--iidfile', imageIdFile, '--', spec.context];
}

export function pushArgv(reference: string): string[] {
  return ['docker', 'push', reference];
}

/** `Driver: docker-container` from `docker buildx inspect` (buildx 0.13 has no --format there). */
export function parseBuilderDriver(inspectOutput: string): string | undefined {
  return /^Driver:\s*(\S+)/m.exec(inspectOutput)?.[1];
}

/** Drivers whose builds can export a cache (`--cache-to type=gha`). The docker driver cannot. */
export function driverSupportsCacheExport(driver: string): boolean {
  return driver !== 'docker';
}

export interface BuildMetadata {
  /** Manifest digest after a push; the config digest after a load. */
  digest?: string;
  configDigest?: string;
}

export function parseBuildMetadata(json: string): BuildMetadata {
  const metadata = JSON.parse(json) as Record<string, unknown>;
  const pick = (key: string) => {
    const value = metadata[key];
    return typeof value === 'string' && /^sha256:[0-9a-f]{64}$/.test(value) ? value : undefined;
  };
  return { digest: pick('containerimage.digest'), configDigest: pick('containerimage.config.digest') };
}

/** `sha-…: digest: sha256:… size: 1149`, the last line of `docker push`. */
export function parsePushDigest(output: string): string | undefined {
  const matches = [...output.matchAll(/digest: (sha256:[0-9a-f]{64})/g)];
  return matches.at(-1)?.[1];
}

/** The stage names (`FROM … AS name`) of a Dockerfile, in order (lowercase, as BuildKit matches them). */
export function dockerfileStages(dockerfile: string): string[] {
  const lines = dockerfile.split(/\r?\n/);
  const escape = lines.slice(0, 5).some((line) => /^#\s*escape\s*=\s*`/i.test(line)) ? '`' : '\\';
  const instructions: string[] = [];
  let pending = '';
  for (const line of lines) {
    // Comment lines (parser directives included) are never continued and never continue anything.
    if (/^\s*#/.test(line)) continue;
    const trimmed = line.trimEnd();
    if (trimmed.endsWith(escape)) {
      pending += `${trimmed.slice(0, -1)} `;
      continue;
    }
    instructions.push(pending + line);
    pending = '';
  }
  const stages: string[] = [];
  for (const instruction of instructions) {
    const match = /^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+(\S+)\s*$/i.exec(instruction);
    if (match) stages.push(match[1]!.toLowerCase());
  }
  return stages;
}
