import { describe, expect, it } from 'vitest';
import {
  checkGitHubDeployment,
  commitStatusParams,
  createDeploymentParams,
  deploymentStatusParams,
  describeAttempt,
  finalStates,
  repositoryOf,
  rolloutAttempt,
} from '../../actions/engine/github/deployments.js';

const repository = { owner: 'acme', repo: 'hello' };
const facts = {
  environment: 'production',
  sha: 'b'.repeat(40),
  releaseId: '20261124T100000Z-bbbbbbb',
  appImage: `ghcr.io/acme/hello@sha256:${'1'.repeat(64)}`,
  migratorImage: 'ghcr.io/acme/hello-migrator:sha-bbbbbbb',
  production: true,
  runUrl: 'https://github.com/acme/hello/actions/runs/9',
};

describe('GitHub deployment requests', () => {
  it('a deployment of the sha, never merged or held by other statuses, with the release and its digests', () => {
    expect(createDeploymentParams(repository, facts)).toEqual({
      owner: 'acme',
      repo: 'hello',
      ref: facts.sha,
      environment: 'production',
      task: 'deploy',
      auto_merge: false,
      required_contexts: [],
      production_environment: true,
      transient_environment: false,
      description: `release ${facts.releaseId}`,
      payload: {
        releaseId: facts.releaseId,
        appImage: facts.appImage,
        migratorImage: facts.migratorImage,
        appDigest: `sha256:${'1'.repeat(64)}`,
        migratorDigest: null,
      },
    });
  });

  it('statuses carry the run as log_url, the environment URL on success, and auto_inactive only on success', () => {
    expect(
      deploymentStatusParams(repository, 7, 'success', {
        description: 'ok',
        runUrl: facts.runUrl,
        environmentUrl: 'https://example.com',
      }),
    ).toEqual({
      owner: 'acme',
      repo: 'hello',
      deployment_id: 7,
      state: 'success',
      description: 'ok',
      log_url: facts.runUrl,
      environment_url: 'https://example.com',
      auto_inactive: true,
    });
    expect(deploymentStatusParams(repository, 7, 'failure', { description: 'x'.repeat(200) })).toEqual({
      owner: 'acme',
      repo: 'hello',
      deployment_id: 7,
      state: 'failure',
      description: `${'x'.repeat(139)}…`,
    });
  });

  it('the commit status is deployer/<environment>, pointing at the run unless a URL is given', () => {
    expect(commitStatusParams(repository, facts, 'pending', { description: 'deploying' })).toMatchObject({
      sha: facts.sha,
      context: 'deployer/production',
      state: 'pending',
      target_url: facts.runUrl,
    });
  });

  it('maps each recorded outcome: a rolled-back release fails and goes inactive; a cancel is an error', () => {
    expect(finalStates('success')).toEqual({ deployment: ['success'], commit: 'success' });
    expect(finalStates('rolled_back')).toEqual({ deployment: ['failure', 'inactive'], commit: 'failure' });
    expect(finalStates('failed')).toEqual({ deployment: ['failure'], commit: 'failure' });
    expect(finalStates('cancelled')).toEqual({ deployment: ['error'], commit: 'error' });
    expect(describeAttempt({ id: 'r1', status: 'rolled_back', reason: 'never ready' })).toBe(
      'r1 rolled back: never ready',
    );
  });

  it("the promotion gate passes only when the commit's latest deployment stands at success", () => {
    expect(checkGitHubDeployment('staging', 'abc', undefined)).toEqual({
      ok: false,
      reason: 'GitHub has no deployment of abc in staging',
    });
    expect(checkGitHubDeployment('staging', 'abc', { id: 3, states: ['inactive', 'failure'] })).toEqual({
      ok: false,
      reason: "GitHub's latest deployment of abc in staging (#3) is inactive, not success",
    });
    expect(checkGitHubDeployment('staging', 'abc', { id: 3, states: [] })).toMatchObject({ ok: false });
    expect(checkGitHubDeployment('staging', 'abc', { id: 3, states: ['success', 'in_progress'] })).toEqual({
      ok: true,
    });
  });

  it('reads owner/name', () => {
    expect(repositoryOf('acme/hello')).toEqual(repository);
    expect(repositoryOf('acme')).toBeUndefined();
  });

  it('reads a rollout as one attempt: success only when every host is; a failed one left no host on it', () => {
    const member = (state: string) => ({ state }) as never;
    const failure = new Error('web-2: not ready');
    expect(
      rolloutAttempt({ status: 'success', members: [member('success'), member('success')] }, 'r1'),
    ).toEqual({
      id: 'r1',
      status: 'success',
    });
    expect(
      rolloutAttempt({ status: 'failed', members: [member('rolled_back'), member('failed')], failure }, 'r1'),
    ).toEqual({ id: 'r1', status: 'rolled_back', reason: 'web-2: not ready' });
    expect(
      rolloutAttempt(
        { status: 'failed', members: [member('cancelled'), member('not-started')], failure },
        'r1',
      ),
    ).toMatchObject({ status: 'cancelled' });
    expect(rolloutAttempt({ status: 'failed', members: [], failure }, undefined)).toBeUndefined();
  });
});
