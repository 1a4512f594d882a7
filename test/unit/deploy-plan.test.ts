import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compose,
  composeBase,
  parseComposeVersion,
  type ComposeProject,
} from '../../actions/engine/commands/compose.js';
import { host, LOCK_HELD } from '../../actions/engine/commands/host.js';
import { toShell } from '../../actions/engine/exec/shell.js';
import { deployEnvFile } from '../../actions/engine/deploy/files.js';
import {
  emptyState,
  parseState,
  recordRelease,
  releaseId,
  type ReleaseRecord,
} from '../../actions/engine/state/release.js';
import {
  checkRunningContainers,
  checkSourceRelease,
  rollbackTarget,
} from '../../actions/engine/promote/gate.js';
import { parseLock } from '../../actions/engine/state/lock.js';

const v2: ComposeProject = {
  flavor: { command: 'docker compose', major: 2 },
  projectName: 'hello-staging',
  composeFile: '/srv/app/docker-compose.next.yml',
  envFile: '/srv/app/deploy.env.next',
};

describe('compose commands', () => {
  it('passes exactly one env file and the project name', () => {
    expect(composeBase(v2)).toEqual([
      'docker',
      'compose',
      '--project-name',
      'hello-staging',
      '--file',
      '/srv/app/docker-compose.next.yml',
      '--env-file',
      '/srv/app/deploy.env.next',
    ]);
    expect(composeBase({ ...v2, flavor: { command: 'docker-compose', major: 1 } })[0]).toBe('docker-compose');
  });

  it('runs the migrator once, removed afterwards, without its dependencies', () => {
    expect(compose.runOnce(v2, 'migrator').slice(-5)).toEqual(['run', '--rm', '--no-deps', '-T', 'migrator']);
    expect(compose.up(v2, ['app']).slice(-5)).toEqual(['up', '--detach', '--no-deps', '--no-build', 'app']);
  });

  it('reads compose versions', () => {
    expect(parseComposeVersion('2.26.1-4\n')).toBe(2);
    expect(parseComposeVersion('1.29.2')).toBe(1);
    expect(parseComposeVersion('docker-compose version 1.29.2, build unknown')).toBe(1);
    expect(parseComposeVersion('')).toBeUndefined();
  });
});

describe('host scripts (run here with a real sh)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-host-'));
  const sh = (argv: string[], input = '') => {
    try {
      return {
        code: 0,
        out: execFileSync('sh', ['-c', toShell(argv)], { input, encoding: 'utf8', cwd: dir }),
      };
    } catch (error) {
      const e = error as { status: number; stdout: string };
      return { code: e.status, out: e.stdout };
    }
  };

  it('writes files atomically with the requested mode', () => {
    sh(host.writeFileAtomic(`${dir}/deploy.env`, '600'), 'APP_IMAGE=x\n');
    expect(readFileSync(`${dir}/deploy.env`, 'utf8')).toBe('APP_IMAGE=x\n');
    expect(execFileSync('stat', ['-c', '%a', `${dir}/deploy.env`], { encoding: 'utf8' }).trim()).toBe('600');
  });

  it('takes the lock once, reports the holder, takes over an expired one, releases only its own', () => {
    const lockDir = `${dir}/.deployer`;
    expect(sh(host.acquireLock(lockDir, '{"token":"one"}', 600)).out).toBe('acquired\n');
    const held = sh(host.acquireLock(lockDir, '{"token":"two"}', 600));
    expect(held.code).toBe(LOCK_HELD);
    expect(held.out).toContain('{"token":"one"}');
    expect(sh(host.releaseLock(lockDir, 'two')).out.trim()).toBe('not-ours');
    writeFileSync(`${lockDir}/lock`, `${Math.floor(Date.now() / 1000) - 5}\n{"token":"one"}\n`);
    const taken = sh(host.acquireLock(lockDir, '{"token":"two"}', 600));
    expect(taken.out.split('\n')[0]).toBe('took-over');
    expect(parseLock(taken.out.split('\n').slice(1).join('\n')).owner).toBe('{"token":"one"}');
    expect(sh(host.releaseLock(lockDir, 'two')).out.trim()).toBe('released');
    expect(existsSync(`${lockDir}/lock`)).toBe(false);
  });

  it('never lets a value escape into the shell', () => {
    const evil = `${dir}/x'; touch pwned; $(touch pwned2) '`;
    sh(host.writeFileAtomic(evil), 'data');
    expect(existsSync(`${dir}/pwned`)).toBe(false);
    expect(existsSync(`${dir}/pwned2`)).toBe(false);
    expect(readFileSync(evil, 'utf8')).toBe('data');
  });
});

describe('deploy.env', () => {
  it('accepts references and refuses values that need quoting', () => {
    expect(
      deployEnvFile({ APP_IMAGE: 'ghcr.io/a/b@sha256:' + 'a'.repeat(64), APP_HOST_PORT: '8080' }),
    ).toContain('APP_IMAGE=ghcr.io/a/b@sha256:');
    expect(() => deployEnvFile({ X: 'a b' })).toThrow(/may only contain/);
    expect(() => deployEnvFile({ X: '$(id)' })).toThrow(/may only contain/);
    expect(() => deployEnvFile({ 'BAD-NAME': 'x' })).toThrow(/not a valid name/);
  });
});

const release = (id: string, sha: string, status: ReleaseRecord['status'] = 'success'): ReleaseRecord => ({
  id,
  environment: 'staging',
  kind: 'deploy',
  sha,
  appImage: `r/app@sha256:${sha.padEnd(64, '0')}`,
  migratorImage: 'r/m@sha256:' + '0'.repeat(64),
  status,
  migrated: true,
  startedAt: '',
  finishedAt: '',
  durationMs: 1,
  actor: 'a',
  host: 'h',
});

describe('state and gate', () => {
  it('moves current to previous only on success', () => {
    let state = recordRelease(emptyState('staging'), release('r1', 'aaaaaaa'));
    state = recordRelease(state, release('r2', 'bbbbbbb', 'rolled_back'));
    expect(state.current?.id).toBe('r1');
    state = recordRelease(state, release('r3', 'ccccccc'));
    expect([state.current?.id, state.previous?.id, state.history.map((r) => r.id)]).toEqual([
      'r3',
      'r1',
      ['r3', 'r2', 'r1'],
    ]);
    expect(parseState(JSON.stringify(state), 'staging', 'x')).toEqual(state);
    expect(() => parseState('{oops', 'staging', 'state.json')).toThrow(/state.json is not valid JSON/);
  });

  it('makes sortable release ids', () => {
    expect(releaseId(new Date('2026-11-23T09:05:12.345Z'), 'abcdef0123')).toBe('20261123T090512Z-abcdef0');
  });

  it('lets through only the current successful release of the source', () => {
    const state = recordRelease(
      recordRelease(emptyState('staging'), release('r1', 'aaaaaaa1')),
      release('r2', 'bbbbbbb2', 'failed'),
    );
    expect(checkSourceRelease(state, 'aaaaaaa1', 'staging').ok).toBe(true);
    const refused = checkSourceRelease(state, 'bbbbbbb2', 'staging');
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.reason).toMatch(
      /does not currently run bbbbbbb2; it runs aaaaaaa1.*ended failed/,
    );
    expect(checkSourceRelease(state, 'aaaaaaa1', 'qa').ok).toBe(false);
  });

  it('requires the running container to match the recorded image and id', () => {
    const r = release('r1', 'aaaaaaa1');
    expect(
      checkRunningContainers(
        r,
        [{ image: r.appImage, imageId: 'sha256:1', status: 'running' }],
        'sha256:1',
        'staging',
      ).ok,
    ).toBe(true);
    expect(
      checkRunningContainers(
        r,
        [{ image: r.appImage, imageId: 'sha256:2', status: 'running' }],
        'sha256:1',
        'staging',
      ).ok,
    ).toBe(false);
    expect(
      checkRunningContainers(
        r,
        [{ image: 'other', imageId: 'sha256:1', status: 'running' }],
        'sha256:1',
        'staging',
      ).ok,
    ).toBe(false);
    expect(checkRunningContainers(r, [], undefined, 'staging').ok).toBe(false);
  });

  it('rolls back only to releases that succeeded and are not current', () => {
    let state = emptyState('production');
    state = recordRelease(state, release('p1', '1111111a'));
    state = recordRelease(state, release('p2', '2222222b'));
    expect(rollbackTarget(state, undefined)).toMatchObject({ ok: true, release: { id: 'p1' } });
    expect(rollbackTarget(state, 'p2').ok).toBe(false);
    expect(rollbackTarget(state, 'nope123').ok).toBe(false);
    expect(rollbackTarget(emptyState('production'), undefined).ok).toBe(false);
  });
});
