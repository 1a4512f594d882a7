// docker buildx argv lists and the parsers of their output. Pure: no I/O. The legacy builder and
// `docker push` are plain Docker: docker.ts.
import { createHash } from 'node:crypto';
import { imageFlags, type BuildSpec } from './docker.js';
import { describeManifest, type ManifestJson, type RemoteManifest } from './registry.js';

export const buildx = {
  version(): string[] {
    return ['docker', 'buildx', 'version'];
  },
  /** The current builder; its driver is read by `parseBuilderDriver`. */
  inspectBuilder(): string[] {
    return ['docker', 'buildx', 'inspect'];
  },
  /**
   * `docker buildx build` for one target. Provenance and SBOM attestations are off: they record the
   * build's wall-clock time, so two builds of one commit could never be byte-identical with them.
   * The metadata file is read by `parseBuildMetadata`.
   */
  build(spec: BuildSpec, output: 'push' | 'load', metadataFile: string): string[] {
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
  },
  /** The manifest exactly as the registry serves it, so its sha256 is the digest: `parseRawManifest`. */
  imagetoolsRaw(reference: string): string[] {
    return ['docker', 'buildx', 'imagetools', 'inspect', '--raw', reference];
  },
};

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

/** Reads `imagetools inspect --raw` output. */
export function parseRawManifest(raw: string): RemoteManifest {
  const digest = `sha256:${createHash('sha256').update(raw, 'utf8').digest('hex')}`;
  return describeManifest(JSON.parse(raw) as ManifestJson, digest);
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
