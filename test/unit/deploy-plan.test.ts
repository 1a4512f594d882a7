import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compose,
  composeBase,
  parseComposeVersion,
  type ComposeProject,
} from '../../actions/engine/commands/compose.js';
import { EXIT, host, type BeginArgs } from '../../actions/engine/commands/host.js';
import { toShell } from '../../actions/engine/exec/shell.js';
import { deployEnvFile } from '../../actions/engine/deploy/files.js';
import {
  emptyState,
  parseState,
  recordRelease,
  releaseId,
  type ReleaseRecord,
} from '../../actions/engine/state/release.js';
import { prunePlan } from '../../actions/engine/state/store.js';
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

  it('runs the migrator as a named detached container, without its dependencies', () => {
    expect(compose.runDetached(v2, 'migrator', 'hello-migrator-r1').slice(-6)).toEqual([
      'run',
      '--detach',
      '--name',
      'hello-migrator-r1',
      '--no-deps',
      'migrator',
    ]);
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
  // `docker image inspect` answers "missing" here: a stub first on PATH.
  mkdirSync(`${dir}/bin`);
  writeFileSync(`${dir}/bin/docker`, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  const sh = (argv: string[], input = '') => {
    try {
      return {
        code: 0,
        out: execFileSync('sh', ['-c', toShell(argv)], {
          input,
          encoding: 'utf8',
          cwd: dir,
          env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` },
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      };
    } catch (error) {
      const e = error as { status: number; stdout: string };
      return { code: e.status, out: e.stdout };
    }
  };
  const deployPath = `${dir}/app`;
  const stateDir = `${deployPath}/.deployer`;
  const lock = `${stateDir}/lock`;
  const beginArgs = (token: string, id: string): BeginArgs => ({
    stateDir,
    lockOwner: JSON.stringify({ token }),
    token,
    ttlSeconds: 600,
    envFile: `${deployPath}/.env.production`,
    releaseDir: `${stateDir}/releases/${id}`,
    envFileName: '.env.production',
    source: { composeText: 'services: {}\n' },
    deployEnv: 'APP_IMAGE=x\n',
    currentLink: `${deployPath}/current`,
    images: ['r/app@sha256:' + '0'.repeat(64)],
  });
  const mode = (path: string) => execFileSync('stat', ['-c', '%a', path], { encoding: 'utf8' }).trim();

  it('writes files atomically with the requested mode', () => {
    sh(host.writeFileAtomic(`${dir}/deploy.env`, '600'), 'APP_IMAGE=x\n');
    expect(readFileSync(`${dir}/deploy.env`, 'utf8')).toBe('APP_IMAGE=x\n');
    expect(mode(`${dir}/deploy.env`)).toBe('600');
  });

  it('begins a deploy in one command: lock, state, the release folder with its own copies', () => {
    mkdirSync(deployPath);
    const noEnv = sh(host.begin(beginArgs('one', 'r1')));
    expect(noEnv.code).toBe(EXIT.noEnvFile);
    expect(existsSync(lock)).toBe(false);

    writeFileSync(`${deployPath}/.env.production`, 'SECRET=1\n');
    mkdirSync(`${stateDir}/login.stale`, { recursive: true });
    const first = sh(host.begin(beginArgs('one', 'r1')));
    expect(first.code).toBe(0);
    expect(first.out).toBe('lock acquired\ncurrent \nimages missing\nstate absent\n');
    const release = `${stateDir}/releases/r1`;
    expect(readFileSync(`${release}/docker-compose.yml`, 'utf8')).toBe('services: {}\n');
    expect(readFileSync(`${release}/.env.production`, 'utf8')).toBe('SECRET=1\n');
    expect([
      mode(`${release}/docker-compose.yml`),
      mode(`${release}/deploy.env`),
      mode(`${release}/.env.production`),
      mode(stateDir),
    ]).toEqual(['644', '600', '600', '700']);
    expect(existsSync(`${stateDir}/login.stale`)).toBe(false);

    const held = sh(host.begin(beginArgs('two', 'r2')));
    expect(held.code).toBe(EXIT.lockHeld);
    const holder = Buffer.from(held.out.replace(/^lock held /, ''), 'base64').toString();
    expect(parseLock(holder).owner).toBe('{"token":"one"}');
    expect(existsSync(`${stateDir}/releases/r2`)).toBe(false);

    writeFileSync(lock, `${Math.floor(Date.now() / 1000) - 5}\n{"token":"one"}\n`);
    writeFileSync(`${stateDir}/state.json`, '{"v":1}');
    const taken = sh(host.begin({ ...beginArgs('two', 'r2'), source: { fromRelease: release } }));
    const [lockLine] = taken.out.split('\n');
    expect(lockLine).toMatch(/^lock took-over /);
    expect(parseLock(Buffer.from(lockLine!.slice('lock took-over '.length), 'base64').toString()).owner).toBe(
      '{"token":"one"}',
    );
    expect(taken.out).toMatch(/\nstate present\n\{"v":1\}$/);
    expect(readFileSync(`${stateDir}/releases/r2/.env.production`, 'utf8')).toBe('SECRET=1\n');
  });

  it('fences every mutating command on the lock token, in the same command', () => {
    const marker = `${dir}/fenced-ran`;
    expect(sh(host.fenced({ lock, token: 'one' }, ['touch', marker])).code).toBe(EXIT.leaseLost);
    expect(existsSync(marker)).toBe(false);
    expect(sh(host.fenced({ lock, token: 'two' }, ['touch', marker])).code).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it('renews its own lease and notices a lost one', () => {
    writeFileSync(lock, `${Math.floor(Date.now() / 1000) + 5}\n{"token":"two"}\n`);
    expect(sh(host.renewLock(lock, 'two', 600)).out).toBe('renewed\n');
    const renewed = parseLock(readFileSync(lock, 'utf8'));
    expect(renewed.owner).toBe('{"token":"two"}');
    expect(renewed.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 590_000);
    expect(sh(host.renewLock(lock, 'one', 600)).out).toBe('lost\n');
  });

  const recordArgs = (token: string, line: string, target = '') =>
    host.record({
      stateDir,
      token,
      auditLine: line,
      auditCapBytes: 200,
      currentTarget: target,
      currentLink: `${deployPath}/current`,
      loginDir: `${stateDir}/login.${token}`,
      keepReleaseIds: ['r2'],
      pruneImages: [],
    });

  it('records the attempt (state first), moves the current link, prunes, and unlocks, once', () => {
    expect(sh(recordArgs('one', '{"a":1}'), '{"state":1}\n').code).toBe(EXIT.leaseLost);
    expect(readFileSync(`${stateDir}/state.json`, 'utf8')).toBe('{"v":1}');
    expect(sh(recordArgs('two', '{"a":1}'), '').code).toBe(EXIT.stateUnwritable);
    expect(readFileSync(`${stateDir}/state.json`, 'utf8')).toBe('{"v":1}');

    const done = sh(recordArgs('two', '{"a":1}', '.deployer/releases/r2'), '{"state":2}\n');
    expect(done).toEqual({ code: 0, out: 'recorded\nunlocked\n' });
    expect(readFileSync(`${stateDir}/state.json`, 'utf8')).toBe('{"state":2}\n');
    expect([mode(`${stateDir}/state.json`), mode(`${stateDir}/audit.log`)]).toEqual(['600', '600']);
    expect(readlinkSync(`${deployPath}/current`)).toBe('.deployer/releases/r2');
    expect(readdirSync(`${stateDir}/releases`)).toEqual(['r2']);
    expect(existsSync(lock)).toBe(false);

    // A retry after a lost reply adds no second audit line.
    writeFileSync(lock, `${Math.floor(Date.now() / 1000) + 60}\n{"token":"two"}\n`);
    sh(recordArgs('two', '{"a":1}', '.deployer/releases/r2'), '{"state":2}\n');
    expect(readFileSync(`${stateDir}/audit.log`, 'utf8')).toBe('{"a":1}\n');
  });

  it('rotates audit.log at its cap and reports an unwritable one without failing the record', () => {
    writeFileSync(`${stateDir}/audit.log`, 'x'.repeat(300));
    writeFileSync(lock, `${Math.floor(Date.now() / 1000) + 60}\n{"token":"two"}\n`);
    sh(recordArgs('two', '{"b":2}'), '{"state":3}\n');
    expect(readFileSync(`${stateDir}/audit.log`, 'utf8')).toBe('{"b":2}\n');
    expect(readFileSync(`${stateDir}/audit.log.1`, 'utf8')).toBe('x'.repeat(300));

    // A folder where audit.log should be: unwritable even for root.
    execFileSync('rm', ['-f', `${stateDir}/audit.log`]);
    mkdirSync(`${stateDir}/audit.log`);
    writeFileSync(lock, `${Math.floor(Date.now() / 1000) + 60}\n{"token":"two"}\n`);
    const result = sh(recordArgs('two', '{"c":3}'), '{"state":4}\n');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^recorded\naudit-failed .+\nunlocked\n$/);
    expect(readFileSync(`${stateDir}/state.json`, 'utf8')).toBe('{"state":4}\n');
    chmodSync(stateDir, 0o700);
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
    expect(() => parseState('', 'staging', 'state.json', true)).toThrow(/state.json is empty/);
    expect(parseState('', 'staging', 'state.json', false)).toEqual(emptyState('staging'));
  });

  it('keeps the folders and images of the last successful releases and of the latest attempt', () => {
    let state = emptyState('staging');
    for (const [id, status] of [
      ['r1', 'success'],
      ['r2', 'success'],
      ['r3', 'failed'],
      ['r4', 'success'],
      ['r5', 'failed'],
    ] as const)
      state = recordRelease(state, release(id, id.slice(1).repeat(7), status));
    const plan = prunePlan(state, 2);
    expect(plan.keepReleaseIds).toEqual(['r4', 'r2']);
    const images = (id: string) => [release(id, id.slice(1).repeat(7)).appImage];
    expect(plan.images.sort()).toEqual([...images('r1'), ...images('r3')].sort());
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
