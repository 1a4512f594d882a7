import { createHash, createHmac } from 'node:crypto';

/** How the SSH host's key is checked. There is no default: the caller must choose. */
export type HostKeyPolicy =
  | { kind: 'fingerprint'; fingerprints: string[] }
  | { kind: 'known-hosts'; knownHosts: string }
  | { kind: 'insecure' };

export type HostKeyVerdict = { ok: true } | { ok: false; reason: string };

/** OpenSSH's `SHA256:<base64 without padding>` fingerprint of a raw host key blob. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export function normalizeFingerprint(fingerprint: string): string {
  const trimmed = fingerprint.trim();
  const body = trimmed.replace(/^SHA256:/i, '').replace(/=+$/, '');
  return `SHA256:${body}`;
}

export const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

export function verifyHostKey(
  policy: HostKeyPolicy,
  host: string,
  port: number,
  keyBlob: Buffer,
): HostKeyVerdict {
  const presented = fingerprintOf(keyBlob);
  switch (policy.kind) {
    case 'insecure':
      return { ok: true };
    case 'fingerprint': {
      const wanted = policy.fingerprints.map(normalizeFingerprint);
      if (wanted.includes(presented)) return { ok: true };
      return {
        ok: false,
        reason: `the host key of ${host}:${port} is ${presented}, which is not the expected ${wanted.join(' or ')}`,
      };
    }
    case 'known-hosts': {
      const entries = parseKnownHosts(policy.knownHosts).filter((entry) => entry.matchesHost(host, port));
      const blob = keyBlob.toString('base64');
      if (entries.some((entry) => entry.marker === '@revoked' && entry.keyBase64 === blob)) {
        return {
          ok: false,
          reason: `the host key of ${host}:${port} (${presented}) is marked @revoked in known-hosts`,
        };
      }
      if (entries.some((entry) => entry.marker === undefined && entry.keyBase64 === blob))
        return { ok: true };
      return {
        ok: false,
        reason:
          entries.length === 0
            ? `known-hosts has no entry for ${hostPattern(host, port)}; the host presented ${presented}`
            : `the host key of ${host}:${port} is ${presented}, which matches none of the ${entries.length} known-hosts entries for it`,
      };
    }
  }
}

interface KnownHostsEntry {
  marker: '@revoked' | '@cert-authority' | undefined;
  keyType: string;
  keyBase64: string;
  matchesHost(host: string, port: number): boolean;
}

function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostsEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority')
      marker = fields.shift() as KnownHostsEntry['marker'];
    const [hosts, keyType, keyBase64] = fields;
    if (!hosts || !keyType || !keyBase64) continue;
    entries.push({
      marker,
      keyType,
      keyBase64,
      matchesHost: (host, port) => hostsFieldMatches(hosts, host, port),
    });
  }
  return entries;
}

function hostsFieldMatches(field: string, host: string, port: number): boolean {
  const name = hostPattern(host, port);
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    if (globMatches(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function globMatches(pattern: string, name: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  // `[` and `]` stay literal for the `[host]:port` form.
  return new RegExp(`^${regex.replace(/\[/g, '\\[').replace(/\]/g, '\\]')}$`, 'i').test(name);
}
