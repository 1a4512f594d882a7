import { describe, expect, it } from 'vitest';
import { inputsFrom } from '../../actions/engine/inputs.js';
import { collectingReporter } from '../../actions/engine/reporter.js';
import {
  DEFAULT_MAX_INTERVAL_MS,
  readinessInputShape,
  readinessUrl,
  readReadinessSettings,
} from '../../actions/engine/readiness/index.js';

const from = (values: Record<string, string>) => inputsFrom(values, collectingReporter());

describe('readReadinessSettings', () => {
  it('has the documented defaults', () => {
    expect(readReadinessSettings('', from({}))).toEqual({
      expectedStatus: '200',
      expectBody: undefined,
      expectJson: undefined,
      timeoutMs: 60_000,
      intervalMs: 1000,
      backoff: 1,
      maxIntervalMs: undefined,
      requestTimeoutMs: 5000,
      consecutiveSuccesses: 1,
      headers: {},
      followRedirects: false,
      insecureTls: false,
    });
  });

  it('reads every input', () => {
    const settings = readReadinessSettings(
      '',
      from({
        'expected-status': '200-299, 304',
        'expect-body': '/ready/i',
        'expect-json': '{"version":"abc123","checks":{"db":"ok"}}',
        timeout: '2m',
        interval: '500ms',
        backoff: '1.5',
        'max-interval': '8s',
        'request-timeout': '3s',
        'consecutive-successes': '3',
        headers: 'Host: app.example.test\nX-Api-Key=k3y-value:with=signs\n\n',
        'follow-redirects': 'true',
        'insecure-tls': 'true',
      }),
    );
    expect(settings).toEqual({
      expectedStatus: '200-299, 304',
      expectBody: '/ready/i',
      expectJson: { version: 'abc123', checks: { db: 'ok' } },
      timeoutMs: 120_000,
      intervalMs: 500,
      backoff: 1.5,
      maxIntervalMs: 8000,
      requestTimeoutMs: 3000,
      consecutiveSuccesses: 3,
      headers: { Host: 'app.example.test', 'X-Api-Key': 'k3y-value:with=signs' },
      followRedirects: true,
      insecureTls: true,
    });
  });

  it('shrinks the default interval to fit a short timeout', () => {
    expect(readReadinessSettings('', from({ timeout: '500ms' })).intervalMs).toBe(500);
  });

  it('caps a backoff at a default when max-interval is not given', () => {
    expect(readReadinessSettings('', from({ backoff: '2' })).maxIntervalMs).toBe(DEFAULT_MAX_INTERVAL_MS);
  });

  it('reads prefixed inputs', () => {
    const shape = readinessInputShape('ready-');
    expect(Object.keys(shape)).toContain('ready-expected-status');
    expect(Object.keys(shape).every((name) => name.startsWith('ready-'))).toBe(true);
    expect(Object.keys(shape)).not.toContain('ready-url');
    const settings = readReadinessSettings('ready-', from({ 'ready-timeout': '30s', timeout: '5s' }));
    expect(settings.timeoutMs).toBe(30_000);
    expect(() => readReadinessSettings('ready-', from({ 'ready-interval': '2m' }))).toThrow(
      'Invalid input "ready-interval": must not be longer than ready-timeout (2 min > 1 min)',
    );
  });

  it.each([
    [{ timeout: '-5s' }, 'timeout', /expected a duration such as 60s/],
    [{ timeout: '0' }, 'timeout', /at least 1 ms/],
    [{ timeout: 'soon' }, 'timeout', /expected a duration/],
    [{ interval: '5ms' }, 'interval', /at least 10 ms/],
    [{ timeout: '10s', interval: '20s' }, 'interval', /must not be longer than timeout \(20 s > 10 s\)/],
    [{ 'request-timeout': '-1' }, 'request-timeout', /expected a duration/],
    [
      { 'expected-status': 'ok' },
      'expected-status',
      /expected a status such as 200, 200,204, 200-299 or 2xx, got "ok"/,
    ],
    [{ 'expected-status': '2xx;3xx' }, 'expected-status', /got "2xx;3xx"/],
    [{ 'expect-body': '/[a-/' }, 'expect-body', /valid \/regex\/flags/],
    [{ 'expect-json': '{version: abc}' }, 'expect-json', /expected a JSON object/],
    [{ 'expect-json': '["abc"]' }, 'expect-json', /expected a JSON object/],
    [{ 'consecutive-successes': '0' }, 'consecutive-successes', /from 1 to 100/],
    [
      { timeout: '5s', interval: '3s', 'consecutive-successes': '3' },
      'consecutive-successes',
      /3 successes 3 s apart cannot fit in timeout \(5 s\)/,
    ],
    [{ backoff: '0.5' }, 'backoff', /from 1 \(no backoff\) to 10/],
    [{ backoff: 'exponential' }, 'backoff', /from 1 \(no backoff\) to 10/],
    [{ interval: '2s', 'max-interval': '1s' }, 'max-interval', /must not be shorter than interval/],
    [{ 'follow-redirects': 'yes' }, 'follow-redirects', /expected true or false/],
    [{ 'insecure-tls': '1' }, 'insecure-tls', /expected true or false/],
    [{ headers: 'Bad Name: x' }, 'headers', /line 1 has no valid header name/],
  ])('refuses %j naming %s', (values, name, message) => {
    let error: Error | undefined;
    try {
      readReadinessSettings('', from(values));
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.name).toBe('InputError');
    expect(error?.message).toMatch(new RegExp(`^Invalid input "${name}": `));
    expect(error?.message).toMatch(message);
  });

  it('never quotes a header line in its error (it may hold a token)', () => {
    expect(() => readReadinessSettings('', from({ headers: 'Host: ok\nBearer s3cr3t-t0ken' }))).toThrow(
      /line 2 has no valid header name$/,
    );
    try {
      readReadinessSettings('', from({ headers: 'Bearer s3cr3t-t0ken' }));
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cr3t');
    }
  });
});

describe('readinessUrl', () => {
  it('accepts http and https URLs', () => {
    expect(readinessUrl(' http://127.0.0.1:8080/api/ready ', 'url')).toBe('http://127.0.0.1:8080/api/ready');
    expect(readinessUrl('https://app.example.test/health?deep=1', 'url')).toBe(
      'https://app.example.test/health?deep=1',
    );
  });

  it.each([
    ['127.0.0.1:8080/api/ready', /expected an http:\/\/ or https:\/\/ URL/],
    ['ftp://127.0.0.1/file', /expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/127.0.0.1\/file"/],
    ['http://', /expected an http:\/\/ or https:\/\/ URL/],
    ['http://exa mple.test/', /expected an http:\/\/ or https:\/\/ URL/],
  ])('refuses %j naming the input', (raw, message) => {
    expect(() => readinessUrl(raw, 'url')).toThrow(/^Invalid input "url": /);
    expect(() => readinessUrl(raw, 'url')).toThrow(message);
  });

  it('does not quote credentials of a malformed URL', () => {
    expect(() => readinessUrl('http://admin:hunter22@exa mple.test/', 'url')).toThrow(
      'Invalid input "url": expected an http:// or https:// URL, got "http://exa mple.test/"',
    );
  });
});
