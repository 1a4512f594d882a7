import { describe, expect, it } from 'vitest';
import {
  condition,
  interpolate,
  masker,
  readWorkflowCommands,
  splitTemplate,
  statusFunctions,
} from '../../scripts/harness/index.mjs';

// The harness's expression handling (evaluation itself is @actions/expressions, GitHub's implementation).

const contexts = {
  inputs: { 'app-image': 'ghcr.io/acme/app@sha256:1', push: true, registry: '' },
  github: { sha: 'abc', token: 'ghs_x' },
  secrets: { REGISTRY_TOKEN: '' },
};

describe('workflow expressions in the harness', () => {
  it('keeps the type of a value that is one expression, and makes text of mixed values', () => {
    expect(interpolate('${{ inputs.push }}', contexts)).toBe(true);
    expect(interpolate('push=${{ inputs.push }}', contexts)).toBe('push=true');
    expect(interpolate(false, contexts)).toBe(false);
    expect(interpolate("source/${{ inputs.registry || 'ghcr.io' }}", contexts)).toBe('source/ghcr.io');
  });

  it('evaluates the credential fallbacks the reusable workflows use', () => {
    const token =
      "${{ secrets.REGISTRY_TOKEN || (startsWith(inputs.app-image, 'ghcr.io/') && github.token || '') }}";
    expect(interpolate(token, contexts)).toBe('ghs_x');
    expect(interpolate(token, { ...contexts, inputs: { 'app-image': '127.0.0.1:5000/a@sha256:1' } })).toBe(
      '',
    );
  });

  it('passes a secret on only when an input is empty (the connection secrets without config-file)', () => {
    const gated = "${{ inputs.config-file == '' && secrets.SSH_HOST || '' }}";
    const secrets = { SSH_HOST: 'staging.example.com' };
    expect(interpolate(gated, { inputs: { 'config-file': '' }, secrets })).toBe('staging.example.com');
    expect(interpolate(gated, { inputs: { 'config-file': '.github/deployer.yml' }, secrets })).toBe('');
    expect(interpolate(gated, { inputs: { 'config-file': '' }, secrets: { SSH_HOST: '' } })).toBe('');
  });

  it('finds the end of an expression outside its string literals', () => {
    expect(splitTemplate("a ${{ format('}}{0}', 'x') }} b")).toEqual([
      { text: 'a ' },
      { expression: "format('}}{0}', 'x')" },
      { text: ' b' },
    ]);
    expect(() => splitTemplate('${{ inputs.x')).toThrow(/unterminated/);
  });

  it('adds success() to a condition without a status function, as GitHub does', () => {
    const passing = statusFunctions(() => 'success');
    const failed = statusFunctions(() => 'failure');
    expect(condition('inputs.push', contexts, passing)).toBe(true);
    expect(condition('${{ inputs.push }}', contexts, failed)).toBe(false);
    expect(condition('always() && inputs.push', contexts, failed)).toBe(true);
    expect(condition('failure()', contexts, failed)).toBe(true);
    expect(condition(undefined, contexts, failed)).toBe(false);
    expect(condition("inputs.registry != ''", contexts, passing)).toBe(false);
  });

  it('masks secrets, each line of multi-line ones, and reads ::add-mask:: and ::stop-commands::', () => {
    const mask = masker(['key-line-1\nkey-line-2', 'tok']);
    expect(mask('a key-line-2 b tok')).toBe('a *** b ***');
    const read = readWorkflowCommands(
      '::add-mask::v%0Aw\n::stop-commands::T\n::error::not a command here\n::T::\n::error::real',
    );
    expect(read.masks).toEqual(['v\nw']);
    expect(read.errors).toEqual(['real']);
    expect(read.visible).toContain('::error::not a command here');
  });
});
