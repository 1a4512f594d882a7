import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../support/run-action.js';
import { repoRoot } from '../support/paths.js';

const ACTIONS = ['release-image', 'deploy-staging', 'promote-prod', 'verify-ready', 'gitleaks-gate'];

// A runner has the action's folder and nothing else: no node_modules anywhere.
describe('bundles run from a copy without node_modules, under Node 24', () => {
  const copy = mkdtempSync(join(tmpdir(), 'deployer-bundles-'));
  for (const action of ACTIONS) {
    cpSync(join(repoRoot, action), join(copy, action), { recursive: true });
  }

  it.each(ACTIONS)('%s starts and reports a clear error for missing inputs', async (action) => {
    expect(existsSync(join(copy, 'node_modules'))).toBe(false);
    const run = await runAction(action, { actionsRoot: copy, cwd: copy });
    expect(run.stderr).not.toMatch(/Cannot find (module|package)|ERR_MODULE_NOT_FOUND|SyntaxError/);
    expect(run.code).toBe(1);
    expect(run.errors.length).toBeGreaterThan(0);
  });
});
