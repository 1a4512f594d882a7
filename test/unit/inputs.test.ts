import { describe, expect, it } from 'vitest';
import { inputsFrom } from '../../actions/engine/inputs.js';
import { collectingReporter } from '../../actions/engine/reporter.js';
import { input, parseDuration, readInputs } from '../../actions/engine/inputs.js';
import { readSshTarget } from '../../actions/engine/ssh-inputs.js';

const from = (values: Record<string, string>) => inputsFrom(values, collectingReporter());

describe('readInputs', () => {
  it('parses durations', () => {
    expect(parseDuration('60')).toBe(60_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('-5s')).toBeUndefined();
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('names the bad input and what was expected', () => {
    const shape = {
      timeout: input.duration(60_000),
      retries: input.integer(3, 0, 10),
      mode: input.oneOf(['a', 'b'], 'a'),
    };
    expect(readInputs(shape, from({}))).toEqual({ timeout: 60_000, retries: 3, mode: 'a' });
    expect(() => readInputs(shape, from({ timeout: '-5s' }))).toThrow(
      /Invalid input "timeout": expected a duration/,
    );
    expect(() => readInputs(shape, from({ retries: '11' }))).toThrow(
      /Invalid input "retries": expected a whole number from 0 to 10, got "11"/,
    );
    expect(() => readInputs(shape, from({ mode: 'c' }))).toThrow(
      /Invalid input "mode": expected one of a, b/,
    );
  });
});

describe('readSshTarget', () => {
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n';
  const fp = 'SHA256:+AB1Ako4SblAreFCkwlrPpvb8p/x5ZZLsM9LjwihfGY';

  it('is absent without a host', () => {
    expect(readSshTarget('', from({}))).toBeUndefined();
  });

  it('requires a host key check unless explicitly skipped', () => {
    expect(() => readSshTarget('', from({ host: 'h', user: 'u', 'ssh-key': key }))).toThrow(
      /Invalid input "host-fingerprint": is required/,
    );
    const target = readSshTarget('', from({ host: 'h', user: 'u', 'ssh-key': key, 'host-fingerprint': fp }));
    expect(target?.hostKey).toEqual({ kind: 'fingerprint', fingerprints: [fp] });
    expect(
      readSshTarget(
        '',
        from({ host: 'h', user: 'u', 'ssh-key': key, 'insecure-skip-host-key-check': 'true' }),
      )?.hostKey,
    ).toEqual({ kind: 'insecure' });
  });

  it('rejects malformed values by name', () => {
    expect(() =>
      readSshTarget('', from({ host: 'h;id', user: 'u', 'ssh-key': key, 'host-fingerprint': fp })),
    ).toThrow(/"host"/);
    expect(() =>
      readSshTarget('', from({ host: 'h', user: 'u', 'ssh-key': key, 'host-fingerprint': 'MD5:aa' })),
    ).toThrow(/"host-fingerprint"/);
    expect(() =>
      readSshTarget(
        'staging-',
        from({
          'staging-host': 'h',
          'staging-user': 'u',
          'staging-ssh-key': 'nope',
          'staging-host-fingerprint': fp,
        }),
      ),
    ).toThrow(/"staging-ssh-key"/);
  });
});
