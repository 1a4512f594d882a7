import { describe, expect, it } from 'vitest';
import {
  describeFailure,
  formatMs,
  jsonMismatch,
  parseBodyExpectation,
  parseStatusSpec,
  readinessSummaryMarkdown,
  redactUrl,
  type ReadinessResult,
} from '../../actions/engine/readiness/index.js';

describe('parseStatusSpec', () => {
  it.each([
    ['200', [200], [201, 503], '200'],
    ['200,204', [200, 204], [201, 203], '200, 204'],
    ['200, 204 301', [200, 204, 301], [302], '200, 204, 301'],
    ['200-299', [200, 250, 299], [199, 300], '200-299'],
    ['200 - 204', [200, 204], [205], '200-204'],
    ['2xx', [200, 299], [300, 199], '200-299'],
    ['2XX,304', [201, 304], [303], '200-299, 304'],
  ])('%j accepts %j and refuses %j', (spec, accepted, refused, text) => {
    const parsed = parseStatusSpec(spec);
    for (const status of accepted) expect(parsed.matches(status), `${status}`).toBe(true);
    for (const status of refused) expect(parsed.matches(status), `${status}`).toBe(false);
    expect(parsed.text).toBe(text);
  });

  it.each(['ok', '20', '2000', '600', '099', '2xy', '200-', '-200', '200..299', '200;204', ''])(
    'refuses %j with the accepted syntax',
    (spec) => {
      expect(() => parseStatusSpec(spec)).toThrow(/expected a status such as 200, 200,204, 200-299 or 2xx/);
    },
  );

  it('refuses an empty range', () => {
    expect(() => parseStatusSpec('299-200')).toThrow(/"299-200" is empty/);
  });
});

describe('parseBodyExpectation', () => {
  it('matches a substring literally', () => {
    const expectation = parseBodyExpectation('"ready":true');
    expect(expectation.mismatch('{"ready":true,"x":1}')).toBeUndefined();
    expect(expectation.mismatch('{"ready":false}')).toBe(
      'body does not contain "\\"ready\\":true" (got "{\\"ready\\":false}")',
    );
  });

  it('treats regex characters in a plain substring literally', () => {
    expect(parseBodyExpectation('a.c').mismatch('abc')).toMatch(/does not contain/);
    expect(parseBodyExpectation('a.c').mismatch('xa.cx')).toBeUndefined();
  });

  it('matches /regex/flags', () => {
    const expectation = parseBodyExpectation('/status:\\s*UP/i');
    expect(expectation.mismatch('Status:   up')).toBeUndefined();
    expect(expectation.mismatch('status: down')).toBe(
      'body does not match /status:\\s*UP/i (got "status: down")',
    );
  });

  it('ignores stateful flags so repeated attempts judge alike', () => {
    const expectation = parseBodyExpectation('/up/g');
    expect(expectation.mismatch('up')).toBeUndefined();
    expect(expectation.mismatch('up')).toBeUndefined();
  });

  it('refuses an invalid regular expression', () => {
    expect(() => parseBodyExpectation('/(unclosed/')).toThrow(/valid \/regex\/flags, got \/\(unclosed\//);
    expect(() => parseBodyExpectation('/a/q')).toThrow(/valid \/regex\/flags/);
  });

  it('shortens and flattens the body it quotes', () => {
    const mismatch = parseBodyExpectation('x').mismatch(`line one\n  line two ${'y'.repeat(200)}`)!;
    expect(mismatch).toMatch(/got "line one line two y+\.\.\."\)$/);
    expect(mismatch.length).toBeLessThan(130);
    expect(parseBodyExpectation('x').mismatch('')).toBe('body does not contain "x" (got an empty body)');
  });
});

describe('jsonMismatch', () => {
  const body = JSON.stringify({ ready: true, version: 'abc', build: { sha: 'abc', tags: ['a', 'b'] }, n: 1 });

  it('accepts a subset', () => {
    expect(jsonMismatch({ version: 'abc' }, body)).toBeUndefined();
    expect(jsonMismatch({ build: { sha: 'abc' }, ready: true }, body)).toBeUndefined();
    expect(jsonMismatch({ build: { tags: ['a', 'b'] } }, body)).toBeUndefined();
  });

  it('names the first difference', () => {
    expect(jsonMismatch({ version: 'def' }, body)).toBe('JSON body: version is "abc", expected "def"');
    expect(jsonMismatch({ build: { sha: 'def' } }, body)).toBe(
      'JSON body: build.sha is "abc", expected "def"',
    );
    expect(jsonMismatch({ build: { tags: ['a'] } }, body)).toBe(
      'JSON body: build.tags is ["a","b"], expected ["a"]',
    );
    expect(jsonMismatch({ schema: 2 }, body)).toBe('JSON body: schema is missing, expected 2');
    expect(jsonMismatch({ n: '1' }, body)).toBe('JSON body: n is 1, expected "1"');
    expect(jsonMismatch({ ready: { deep: true } }, body)).toBe(
      'JSON body: ready is true, expected an object',
    );
    expect(jsonMismatch({ version: 'abc' }, '[1]')).toBe('JSON body: the body is [1], expected an object');
  });

  it('says when the body is not JSON', () => {
    expect(jsonMismatch({ version: 'abc' }, '<html>oops</html>')).toBe(
      'body is not JSON (got "<html>oops</html>")',
    );
  });
});

describe('redactUrl', () => {
  it('strips credentials', () => {
    expect(redactUrl('http://user:p%40ss@127.0.0.1:8080/api/ready?x=1')).toBe(
      'http://127.0.0.1:8080/api/ready?x=1',
    );
    expect(redactUrl('https://token@example.test/')).toBe('https://example.test/');
    expect(redactUrl('http://127.0.0.1/a@b')).toBe('http://127.0.0.1/a@b');
    expect(redactUrl('not a url')).toBe('not a url');
  });
});

describe('reports', () => {
  const attempt = (number: number, ok: boolean, outcome: string, status?: number) => ({
    number,
    atMs: (number - 1) * 1000,
    durationMs: 12,
    ok,
    status,
    outcome,
  });
  const failed: ReadinessResult = {
    ready: false,
    attempts: 7,
    history: [
      attempt(1, false, 'connection refused'),
      attempt(2, false, 'connection refused'),
      attempt(3, false, 'timed out after 5000 ms'),
      attempt(4, false, 'status 503, expected 200', 503),
      attempt(5, false, 'status 503, expected 200', 503),
      attempt(6, false, 'body does not contain "ok" | really', 200),
      attempt(7, false, 'JSON body: version is "old", expected "new"', 200),
    ],
    lastStatus: 200,
    elapsedMs: 6020,
    timeoutMs: 6000,
    reason: 'not ready within 6 s (7 attempts; the last: JSON body: version is "old", expected "new")',
  };

  it('formats durations', () => {
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(4200)).toBe('4.2 s');
    expect(formatMs(60_000)).toBe('1 min');
    expect(formatMs(125_000)).toBe('2 min 5 s');
  });

  it('lists the last attempts in the failure message', () => {
    const message = describeFailure(failed);
    expect(message.split('\n')).toEqual([
      'Not ready within 6 s (7 attempts; the last: JSON body: version is "old", expected "new").',
      'The last 5 of 7 attempts:',
      '  #3 at 2 s (12 ms): timed out after 5000 ms',
      '  #4 at 3 s (12 ms): status 503, expected 200',
      '  #5 at 4 s (12 ms): status 503, expected 200',
      '  #6 at 5 s (12 ms): body does not contain "ok" | really',
      '  #7 at 6 s (12 ms): JSON body: version is "old", expected "new"',
    ]);
  });

  it('writes the timeline as a table without credentials', () => {
    const summary = readinessSummaryMarkdown(failed, 'http://admin:hunter22@127.0.0.1:8080/api/ready');
    expect(summary).not.toContain('hunter22');
    expect(summary).toContain('❌ `http://127.0.0.1:8080/api/ready` is not ready: not ready within 6 s');
    expect(summary).toContain('| 4 | 3 s | 12 ms | 503 | ❌ status 503, expected 200 |');
    expect(summary).toContain('| 6 | 5 s | 12 ms | 200 | ❌ body does not contain "ok" \\| really |');
    expect(summary.match(/^\| \d+ \|/gm)).toHaveLength(7);
  });

  it('says how many early attempts the timeline leaves out', () => {
    const long = { ...failed, attempts: 60 };
    expect(readinessSummaryMarkdown(long, 'http://127.0.0.1/')).toContain(
      'The first 53 attempts are not shown.',
    );
  });

  it('reports a success with its time to ready', () => {
    const ready: ReadinessResult = {
      ready: true,
      attempts: 2,
      history: [attempt(1, false, 'connection refused'), attempt(2, true, 'ready', 200)],
      timeToReadyMs: 1012,
      lastStatus: 200,
      elapsedMs: 1012,
      timeoutMs: 60_000,
    };
    expect(readinessSummaryMarkdown(ready, 'http://127.0.0.1/')).toContain(
      '✅ `http://127.0.0.1/` is ready after 1 s (2 attempts)',
    );
  });
});
