// The app watch's event stream: `docker events` for one container (commands/docker.ts), bounded in
// time on the host (commands/host.ts), its parser, and the fake host's answer to it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { docker, parseContainerEvent, UNHEALTHY } from '../../actions/engine/commands/docker.js';
import { host } from '../../actions/engine/commands/host.js';
import { serviceContainers } from '../../actions/engine/state/containers.js';
import { DeployFixture, PROJECT, release } from '../support/fake-deploy.js';

const ID = '1ea96a374322b6d9c63e6a0ed0952250c87b3dfc9b96f6407f687b9ad6662906';

/** Lines as Docker 26 printed them on the sandbox (`docker events --format '{{json .}}'`). */
const DIE = `{"status":"die","id":"${ID}","from":"deployer-sandbox/busybox:1","Type":"container","Action":"die","Actor":{"ID":"${ID}","Attributes":{"execDuration":"2","exitCode":"3","image":"deployer-sandbox/busybox:1","name":"evt-probe"}},"scope":"local","time":1795502383,"timeNano":1795502383531568762}`;
const UNHEALTHY_LINE = `{"status":"health_status: unhealthy","id":"${ID}","from":"deployer-sandbox/busybox:1","Type":"container","Action":"health_status: unhealthy","Actor":{"ID":"${ID}","Attributes":{"image":"deployer-sandbox/busybox:1","name":"evt-health"}},"scope":"local","time":1795502390,"timeNano":1795502390000000000}`;

describe('parseContainerEvent', () => {
  it('reads the action, the container and the exit code a die carries', () => {
    expect(parseContainerEvent(DIE)).toEqual({ action: 'die', id: ID, exitCode: 3 });
    expect(parseContainerEvent(UNHEALTHY_LINE)).toEqual({ action: UNHEALTHY, id: ID });
  });

  it('ignores what is not a container event: other objects, blank or broken lines', () => {
    const network = DIE.replace('"Type":"container"', '"Type":"network"');
    for (const line of [network, '', '   ', '{"status":"die"', 'null', '42', '"die"', '{}'])
      expect(parseContainerEvent(line), line).toBeUndefined();
  });

  it('leaves out an exit code that is not a number', () => {
    expect(parseContainerEvent(DIE.replace('"exitCode":"3"', '"exitCode":"x"'))).toEqual({
      action: 'die',
      id: ID,
    });
  });
});

describe('the bounded event stream', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'deployer-events-'));
    // A `docker` that says what it was given, one argument a line.
    writeFileSync(join(dir, 'docker'), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (argv: string[]) =>
    spawnSync(argv[0]!, argv.slice(1), {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    });

  it('follows one container, JSON formatted, and only the events that end a run or say it is unhealthy', () => {
    expect(docker.containerEvents(ID)).toEqual([
      'docker',
      'events',
      '--filter',
      'type=container',
      '--filter',
      `container=${ID}`,
      '--filter',
      'event=die',
      '--filter',
      'event=oom',
      '--filter',
      'event=restart',
      '--filter',
      'event=destroy',
      '--filter',
      'event=health_status: unhealthy',
      '--format',
      '{{json .}}',
    ]);
  });

  it('ends where the host clock says: --until is the host now plus the window, its values positional', () => {
    const since = "2026-11-24T06:39:41.371036045Z '$(echo injected >&2)'";
    const before = Math.floor(Date.now() / 1000);
    const result = run(host.eventWindow(since, 6, docker.containerEvents(ID)));
    const after = Math.floor(Date.now() / 1000);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const args = result.stdout.trimEnd().split('\n');
    expect(args.slice(0, -4)).toEqual(docker.containerEvents(ID).slice(1));
    expect(args.slice(-4, -1)).toEqual(['--since', since, '--until']);
    const until = Number(args.at(-1));
    expect(until).toBeGreaterThanOrEqual(before + 6);
    expect(until).toBeLessThanOrEqual(after + 6);
  });

  it('refuses a window that is not a whole number of seconds', () => {
    const argv = host.eventWindow('2026-01-01T00:00:00Z', 1, ['docker', 'events']);
    argv[5] = '1+$(id)';
    const result = run(argv);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('not a number of seconds');
    expect(result.stdout).toBe('');
  });
});

describe("the fake host's docker events", () => {
  const A = release('a');
  let fixture: DeployFixture;
  afterEach(async () => {
    await fixture.host.dispose();
  });

  it('replays from --since, streams what happens, and ends by itself when the window closes', async () => {
    fixture = await DeployFixture.create();
    await fixture.deployed(A);
    const executor = fixture.host.connect();
    const [app] = await serviceContainers(executor, 'app', { name: PROJECT });
    const container = fixture.host.service(PROJECT, 'app')[0]!;
    // Before the stream starts: replayed. Once it runs (it printed that): streamed as it comes.
    container.crash(2);
    const lines: string[] = [];
    const began = Date.now();
    const result = await executor.run(host.eventWindow(app!.startedAt, 1, docker.containerEvents(app!.id)), {
      onStdout: (chunk) => {
        if (lines.push(chunk) > 1) return;
        container.restart();
        container.unhealthy();
      },
    });
    const tookMs = Date.now() - began;

    const events = result.stdout.split('\n').filter(Boolean).map(parseContainerEvent);
    // The start of the restart is not among the events followed.
    expect(events).toEqual([
      { action: 'die', id: app!.id, exitCode: 2 },
      { action: UNHEALTHY, id: app!.id },
    ]);
    expect(lines.join('')).toBe(result.stdout);
    // `date +%s` + 1: the window closes within the next second or two, without an abort.
    expect(tookMs).toBeLessThan(2_500);
    expect(fixture.host.find('docker events')!.label).toBe('event-window: docker events');
  });
});
