// Registries, image references and manifests, whichever client talks to them; what their failures mean.
// No I/O here. The commands that reach a registry are in docker.ts and buildx.ts.

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

export interface RemoteManifest {
  /** sha256 of the manifest's bytes: what `repository@digest` pins. */
  digest: string;
  mediaType: string;
  /** The image config's digest (= the image ID); absent for an index of several platforms. */
  configDigest?: string;
  isIndex: boolean;
}

/** Media types of a manifest that lists one manifest per platform (an OCI index, a Docker manifest list). */
export const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

/** The fields of an image manifest (or index) that tell what it is. */
export interface ManifestJson {
  mediaType?: string;
  config?: { digest?: string };
  manifests?: unknown[];
}

export function describeManifest(manifest: ManifestJson, digest: string): RemoteManifest {
  const isIndex = Array.isArray(manifest.manifests) || INDEX_TYPES.includes(manifest.mediaType ?? '');
  const configDigest = manifest.config?.digest;
  return {
    digest,
    mediaType: manifest.mediaType ?? '',
    isIndex,
    configDigest: !isIndex && configDigest && DIGEST_PATTERN.test(configDigest) ? configDigest : undefined,
  };
}

export type RegistryFailure = 'absent' | 'unauthorized' | 'unreachable' | 'other';

/** Sorts the stderr of a failed login / inspect / pull into what it means for the user. */
export function classifyRegistryFailure(stderr: string): RegistryFailure {
  const text = stderr.toLowerCase();
  if (
    /connection refused|no such host|i\/o timeout|network is unreachable|no route to host|server misbehaving|tls: |x509: |server gave http response|context deadline exceeded|connection reset|broken pipe|": eof$/m.test(
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
