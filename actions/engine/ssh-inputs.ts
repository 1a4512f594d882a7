import { FINGERPRINT_PATTERN, normalizeFingerprint, type HostKeyPolicy } from './exec/host-key.js';
import type { SshTarget } from './exec/ssh.js';
import { input, InputError, readInputs, type InputSource } from './inputs.js';

const HOSTNAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\d{1,3}(?:\.\d{1,3}){3}|\[?[0-9A-Fa-f:]+\]?)$/;
const USERNAME = /^[a-z_][a-z0-9_.-]{0,31}$/i;

/** The inputs of one SSH connection, optionally prefixed (e.g. `staging-host`). */
export function sshInputShape(prefix = '') {
  return {
    [`${prefix}host`]: input.matching(HOSTNAME, 'a hostname or IP address'),
    [`${prefix}port`]: input.integer(22, 1, 65535),
    [`${prefix}user`]: input.matching(USERNAME, 'a user name such as deploy'),
    [`${prefix}ssh-key`]: input.secret(false, 'a private key (the content, not a path)'),
    [`${prefix}host-fingerprint`]: input.optional(),
    [`${prefix}known-hosts`]: input.optional(),
    [`${prefix}insecure-skip-host-key-check`]: input.boolean(false),
    [`${prefix}jump-host`]: input.matching(HOSTNAME, 'a hostname or IP address'),
    [`${prefix}jump-port`]: input.integer(22, 1, 65535),
    [`${prefix}jump-user`]: input.matching(USERNAME, 'a user name'),
    [`${prefix}jump-host-fingerprint`]: input.optional(),
    [`${prefix}jump-known-hosts`]: input.optional(),
  };
}

/**
 * Reads an SSH connection's inputs. Returns undefined when `<prefix>host` is empty (no SSH wanted);
 * otherwise every required part must be there, including a host key check.
 */
export function readSshTarget(prefix: string, source: InputSource): SshTarget | undefined {
  const values = readInputs(sshInputShape(prefix), source) as Record<string, unknown>;
  const get = <T>(name: string) => values[`${prefix}${name}`] as T;
  const host = get<string | undefined>('host');
  if (!host) return undefined;
  const user = get<string | undefined>('user');
  if (!user) throw new InputError(`${prefix}user`, `is required when ${prefix}host is set`);
  const key = get<string | undefined>('ssh-key');
  if (!key)
    throw new InputError(
      `${prefix}ssh-key`,
      `is required when ${prefix}host is set: the private key's content`,
    );
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new InputError(
      `${prefix}ssh-key`,
      'expected a private key in OpenSSH or PEM form (-----BEGIN … PRIVATE KEY-----)',
    );
  }
  const hostKey = hostKeyPolicy(
    source,
    prefix,
    get('host-fingerprint'),
    get('known-hosts'),
    get('insecure-skip-host-key-check'),
  );
  const target: SshTarget = {
    host: host.replace(/^\[|\]$/g, ''),
    port: get('port'),
    username: user,
    privateKey: key,
    hostKey,
  };
  const jumpHost = get<string | undefined>('jump-host');
  if (jumpHost) {
    target.jump = {
      host: jumpHost,
      port: get('jump-port'),
      username: get<string | undefined>('jump-user') ?? user,
      privateKey: key,
      hostKey: hostKeyPolicy(
        source,
        `${prefix}jump-`,
        get('jump-host-fingerprint'),
        get('jump-known-hosts'),
        get('insecure-skip-host-key-check'),
      ),
    };
  }
  return target;
}

function hostKeyPolicy(
  source: InputSource,
  prefix: string,
  fingerprint: string | undefined,
  knownHosts: string | undefined,
  insecure: boolean,
): HostKeyPolicy {
  if (fingerprint) {
    const fingerprints = fingerprint
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(normalizeFingerprint);
    const bad = fingerprints.find((f) => !FINGERPRINT_PATTERN.test(f));
    if (bad)
      throw new InputError(
        `${prefix}host-fingerprint`,
        `expected SHA256:<43 base64 characters> as printed by \`ssh-keygen -lf\`, got ${JSON.stringify(bad)}`,
      );
    return { kind: 'fingerprint', fingerprints };
  }
  if (knownHosts) return { kind: 'known-hosts', knownHosts };
  if (insecure) {
    source.reporter.warning(
      `${prefix}insecure-skip-host-key-check is true: the SSH host's identity is NOT verified. Set ${prefix}host-fingerprint instead.`,
    );
    return { kind: 'insecure' };
  }
  throw new InputError(
    `${prefix}host-fingerprint`,
    `is required (or ${prefix}known-hosts): the SSH host key must be verified. Get it with \`ssh-keyscan -p PORT HOST | ssh-keygen -lf -\`; only to skip the check on purpose set ${prefix}insecure-skip-host-key-check: true`,
  );
}
