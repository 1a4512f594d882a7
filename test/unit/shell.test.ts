import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { inDirectory, quote, toShell } from '../../actions/engine/exec/shell.js';

const NASTY = [
  "a'b",
  '$(touch /tmp/pwned)',
  '`id`',
  'x; rm -rf /',
  'new\nline',
  '"dq"',
  '*',
  '~',
  '',
  ' spaced ',
  '\\',
  '!$#&|<>',
];

describe('quote / toShell', () => {
  it('leaves plain words alone', () => {
    expect(toShell(['docker', 'compose', '--env-file', 'deploy.env', 'up'])).toBe(
      'docker compose --env-file deploy.env up',
    );
  });

  it.each(NASTY)('a real shell reads %j back unchanged', (value) => {
    const echoed = execFileSync('sh', ['-c', toShell(['printf', '%s', value])], { encoding: 'utf8' });
    expect(echoed).toBe(value);
  });

  it('quotes the directory too', () => {
    const out = execFileSync('sh', ['-c', `${inDirectory('/', ['pwd'])}`], { encoding: 'utf8' });
    expect(out.trim()).toBe('/');
    expect(inDirectory("/srv/a b'c", ['ls'])).toBe(`cd '/srv/a b'\\''c' && ls`);
  });

  it('refuses NUL bytes and empty commands', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
    expect(() => toShell([])).toThrow(/empty/);
  });
});
