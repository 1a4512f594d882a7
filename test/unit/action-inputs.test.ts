import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { sshInputShape } from '../../actions/engine/ssh-inputs.js';
import { deploySettingsShape } from '../../actions/engine/deploy/inputs.js';
import { readinessInputShape } from '../../actions/engine/readiness/index.js';
import { repoRoot } from '../support/paths.js';

const declared = (action: string) =>
  Object.keys((parse(readFileSync(`${repoRoot}${action}/action.yml`, 'utf8')) as { inputs: object }).inputs);

// Every input the shared engine reads must be declared (and so documented) in action.yml.
describe('action.yml declares what the engine reads', () => {
  const deployInputs = [
    ...Object.keys(sshInputShape('')),
    ...Object.keys(deploySettingsShape),
    ...Object.keys(readinessInputShape('ready-')),
  ];

  it('deploy-staging', () => {
    expect(declared('deploy-staging')).toEqual(expect.arrayContaining(deployInputs));
  });

  it('promote-prod', () => {
    const sourceInputs = [
      ...Object.keys(sshInputShape('source-')),
      ...Object.keys(readinessInputShape('source-ready-')),
    ];
    expect(declared('promote-prod')).toEqual(expect.arrayContaining([...deployInputs, ...sourceInputs]));
  });

  it('verify-ready', () => {
    expect(declared('verify-ready')).toEqual(
      expect.arrayContaining([...Object.keys(sshInputShape('')), ...Object.keys(readinessInputShape(''))]),
    );
  });
});
