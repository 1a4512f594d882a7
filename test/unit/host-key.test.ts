import { describe, expect, it } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import { fingerprintOf, verifyHostKey } from '../../actions/engine/exec/host-key.js';

const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIC1Ni8NchqVVamB3XFCqbLVLS78Utlbf8630a26/J8mJ', 'base64');
const other = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIHUy7w3lvGY3kRBSoP8IBe1rIR1oCXA9VDtWqRMwo5yx', 'base64');

describe('host key verification', () => {
  it('computes the OpenSSH SHA256 fingerprint', () => {
    // ssh-keygen -lf on the same key printed this fingerprint.
    expect(fingerprintOf(key)).toBe('SHA256:+AB1Ako4SblAreFCkwlrPpvb8p/x5ZZLsM9LjwihfGY');
  });

  it('accepts the expected fingerprint and refuses another, naming both', () => {
    const fp = fingerprintOf(key);
    expect(verifyHostKey({ kind: 'fingerprint', fingerprints: [fp] }, 'h', 22, key)).toEqual({ ok: true });
    const verdict = verifyHostKey({ kind: 'fingerprint', fingerprints: [fp] }, 'h', 22, other);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toContain(fingerprintOf(other));
  });

  it('matches known_hosts by [host]:port, plain host, wildcard and hashed entries', () => {
    const b64 = key.toString('base64');
    expect(
      verifyHostKey(
        { kind: 'known-hosts', knownHosts: `[127.0.0.1]:2222 ssh-ed25519 ${b64}` },
        '127.0.0.1',
        2222,
        key,
      ).ok,
    ).toBe(true);
    expect(
      verifyHostKey(
        { kind: 'known-hosts', knownHosts: `127.0.0.1 ssh-ed25519 ${b64}` },
        '127.0.0.1',
        2222,
        key,
      ).ok,
    ).toBe(false);
    expect(
      verifyHostKey(
        { kind: 'known-hosts', knownHosts: `*.example.com ssh-ed25519 ${b64}` },
        'a.example.com',
        22,
        key,
      ).ok,
    ).toBe(true);
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[db.internal]:2200').digest('base64');
    const hashed = `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${b64}`;
    expect(verifyHostKey({ kind: 'known-hosts', knownHosts: hashed }, 'db.internal', 2200, key).ok).toBe(
      true,
    );
    expect(verifyHostKey({ kind: 'known-hosts', knownHosts: hashed }, 'db.internal', 22, key).ok).toBe(false);
  });

  it('refuses a key marked @revoked and a key that differs', () => {
    const b64 = key.toString('base64');
    const known = `@revoked h ssh-ed25519 ${b64}\nh ssh-ed25519 ${b64}`;
    expect(verifyHostKey({ kind: 'known-hosts', knownHosts: known }, 'h', 22, key).ok).toBe(false);
    expect(
      verifyHostKey({ kind: 'known-hosts', knownHosts: `h ssh-ed25519 ${b64}` }, 'h', 22, other).ok,
    ).toBe(false);
  });
});
