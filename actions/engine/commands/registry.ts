import { createHash } from 'node:crypto';

// What to run against a registry, and how to read the answers. No I/O here.

/** `host[:port]`: a DNS name, an IPv4 address or a bracketed IPv6 address. */
export const REGISTRY_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/;

/** A repository path as the distribution spec defines it: lowercase components joined by `/`. */
export const REPOSITORY_PATTERN =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** A tag: at most 128 characters of [A-Za-z0-9_.-], not starting with `.` or `-`. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** The digest an image reference is pinned to (`repository@sha256:…`), or undefined for a tag. */
export function pinnedDigest(image: string): string | undefined {
  return /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
}

/** dockerd trusts plain-HTTP registries on 127.0.0.0/8 by default; so do we, and nothing else. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return /^127(?:\.\d{1,3}){3}$/.test(host) || host === 'localhost' || host === '[::1]';
}

export function loginArgv(registry: string, username: string): string[] {
  return ['docker', 'login', registry, '--username', username, '--password-stdin'];
}

/** The manifest exactly as the registry serves it, so its sha256 is the digest. */
export function imagetoolsRawArgv(reference: string): string[] {
  return ['docker', 'buildx', 'imagetools', 'inspect', '--raw', reference];
}

/** Without buildx: `docker manifest inspect`, which needs `--insecure` for plain-HTTP registries. */
export function manifestInspectArgv(reference: string, registry: string): string[] {
  return [
    'docker',
    'manifest',
    'inspect',
    '--verbose',
    ...(isLoopbackRegistry(registry) ? ['--insecure'] : []),
    reference,
  ];
}

export function pullArgv(reference: string): string[] {
  return ['docker', 'pull', '--quiet', reference];
}

export function imageExistsArgv(image: string): string[] {
  return ['docker', 'image', 'inspect', '--format', '{{.Id}}', image];
}

export function removeImageArgv(image: string): string[] {
  return ['docker', 'image', 'rm', image];
}

export function saveArgv(image: string, file: string): string[] {
  return ['docker', 'save', '--output', file, image];
}

export interface RemoteManifest {
  /** sha256 of the manifest's bytes: what `repository@digest` pins. */
  digest: string;
  mediaType: string;
  /** The image config's digest (= the image ID); absent for an index of several platforms. */
  configDigest?: string;
  isIndex: boolean;
}

const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

interface ManifestJson {
  mediaType?: string;
  config?: { digest?: string };
  manifests?: unknown[];
}

function describeManifest(manifest: ManifestJson, digest: string): RemoteManifest {
  const isIndex = Array.isArray(manifest.manifests) || INDEX_TYPES.includes(manifest.mediaType ?? '');
  const configDigest = manifest.config?.digest;
  return {
    digest,
    mediaType: manifest.mediaType ?? '',
    isIndex,
    configDigest: !isIndex && configDigest && DIGEST_PATTERN.test(configDigest) ? configDigest : undefined,
  };
}

/** Reads `imagetools inspect --raw` output. */
export function parseRawManifest(raw: string): RemoteManifest {
  const digest = `sha256:${createHash('sha256').update(raw, 'utf8').digest('hex')}`;
  return describeManifest(JSON.parse(raw) as ManifestJson, digest);
}

/** Reads `docker manifest inspect --verbose` output (an object, or an array for a manifest list). */
export function parseManifestInspect(stdout: string): RemoteManifest {
  const parsed = JSON.parse(stdout) as unknown;
  if (Array.isArray(parsed)) {
    return { digest: '', mediaType: INDEX_TYPES[1]!, isIndex: true };
  }
  const entry = parsed as { Descriptor?: { digest?: string }; Raw?: string };
  const raw = entry.Raw ? Buffer.from(entry.Raw, 'base64').toString('utf8') : undefined;
  if (!raw || !entry.Descriptor?.digest) throw new Error('docker manifest inspect printed no manifest');
  return describeManifest(JSON.parse(raw) as ManifestJson, entry.Descriptor.digest);
}

export type RegistryFailure = 'absent' | 'unauthorized' | 'unreachable' | 'other';

/** Sorts the stderr of a failed login / inspect / pull into what it means for the user. */
export function classifyRegistryFailure(stderr: string): RegistryFailure {
  const text = stderr.toLowerCase();
  if (
    /connection refused|no such host|i\/o timeout|network is unreachable|no route to host|server misbehaving|tls: |x509: |server gave http response|context deadline exceeded|connection reset/.test(
      text,
    )
  )
    return 'unreachable';
  if (/unauthorized|authentication required|no basic auth credentials|denied|\b40[13]\b|forbidden/.test(text))
    return 'unauthorized';
  if (/not found|no such manifest|manifest unknown|name unknown/.test(text)) return 'absent';
  return 'other';
}

/** The last meaningful line of a Docker CLI error, without the `ERROR: ` / `Error response from daemon: ` prefix. */
export function dockerErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(
      (line) => line && !/^WARNING!?|^Configure a credential helper|^https:\/\/docs\.docker/.test(line),
    );
  return (lines.at(-1) ?? '').replace(/^(?:ERROR:\s*|Error response from daemon:\s*|error:\s*)/i, '');
}
