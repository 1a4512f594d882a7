import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalExecutor } from '../../actions/engine/exec/local.js';
import { gateInputs, runGate, streamLines } from '../../actions/engine/gitleaks/gate.js';
import { inputsFrom, readInputs } from '../../actions/engine/inputs.js';
import { collectingReporter } from '../../actions/engine/reporter.js';
import { fakeGithubToken, GitFixture, gitleaksEmulator } from '../support/git-fixture.js';

describe('streamLines', () => {
  it('emits whole non-blank lines across chunks, without colours, and the unterminated last line on flush', () => {
    const lines: string[] = [];
    const stream = streamLines((line) => lines.push(line));
    stream.push('one\ntw');
    stream.push('o\n\n  \n\u001b[31mred\u001b[0m\nla');
    expect(lines).toEqual(['one', 'two', 'red']);
    stream.push('st');
    stream.flush();
    stream.flush();
    expect(lines).toEqual(['one', 'two', 'red', 'last']);
  });
});

// The engine alone (no runner): what it reports goes to the injected reporter, nothing to @actions/core.
describe('runGate', () => {
  const emulator = gitleaksEmulator();
  const temp = mkdtempSync(join(tmpdir(), 'gitleaks-gate-unit-'));
  const repo = new GitFixture();
  afterAll(() => {
    for (const dir of [temp, repo.root]) rmSync(dir, { recursive: true, force: true });
  });

  it('reports scope, gitleaks and its output to the reporter, and never the secret', async () => {
    const token = fakeGithubToken();
    repo.commit({ 'README.md': '# hello\n' }, 'root');
    repo.commit({ 'app.py': `TOKEN = "${token}"\n` }, 'leak');
    repo.push('main');
    const checkout = repo.checkout('main', { depth: 0 });
    const reporter = collectingReporter();
    const inputs = readInputs(gateInputs, inputsFrom({ 'gitleaks-path': emulator.path }, reporter));

    const result = await runGate(inputs, {
      eventName: 'workflow_dispatch',
      payload: {},
      workspace: checkout,
      runnerTemp: temp,
      platform: process.platform,
      arch: process.arch,
      executor: new LocalExecutor(),
      reporter,
    });

    expect(result.error).toBeUndefined();
    expect(result.commitsScanned).toBe(2);
    expect(result.findings.map((finding) => finding.file)).toEqual(['app.py']);
    expect(reporter.lines).toEqual([
      `gitleaks 8.28.0 at ${emulator.path} (git/dir commands)`,
      'Scope: full history (workflow_dispatch): 2 commit(s), git log --full-history --all',
      'Settings (config, .gitleaksignore, baseline) from the checkout',
      expect.stringMatching(/^\[gitleaks\] .*2 commits scanned\.$/),
      expect.stringMatching(/^\[gitleaks\] .*leaks found: 1$/),
    ]);
    expect(reporter.lines.join('\n')).not.toContain(token);
  });
});
