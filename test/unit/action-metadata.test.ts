import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { repoRoot } from '../support/paths.js';

const ACTIONS = ['release-image', 'deploy-staging', 'promote-prod', 'verify-ready', 'gitleaks-gate'];

describe.each(ACTIONS)('%s/action.yml', (action) => {
  const metadata = parse(readFileSync(`${repoRoot}${action}/action.yml`, 'utf8'));

  it('runs the committed bundle on node24', () => {
    expect(metadata.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    expect(metadata.name).toMatch(new RegExp(action));
    expect(metadata.description.length).toBeGreaterThan(20);
  });

  it('documents every input and output', () => {
    for (const [name, spec] of Object.entries<Record<string, unknown>>(metadata.inputs ?? {})) {
      expect(spec.description, `input ${name}`).toBeTruthy();
      expect(name).toMatch(/^[a-z][a-z0-9-]*$/);
    }
    for (const [name, spec] of Object.entries<Record<string, unknown>>(metadata.outputs ?? {})) {
      expect(spec.description, `output ${name}`).toBeTruthy();
    }
  });
});
