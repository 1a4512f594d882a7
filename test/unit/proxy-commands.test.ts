// The blue-green host commands (commands/proxy.ts, host.launchApp, host.retire, compose.runApp): their
// argv lists, the texts they write, and their scripts run here with a real sh against a temporary
// folder, with a fake `docker` and `flock` first on PATH that record what they were given.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compose, type ComposeProject } from '../../actions/engine/commands/compose.js';
import { docker, parseContainerStates } from '../../actions/engine/commands/docker.js';
import { EXIT, host, type Fence } from '../../actions/engine/commands/host.js';
import {
  PROXY_DIR,
  PROXY_DIR_LABEL,
  otherSlot,
  parseSiteSlots,
  proxy,
  proxyCaddyfile,
  proxySiteFile,
  type SiteRef,
  type SlotPorts,
} from '../../actions/engine/commands/proxy.js';

const SITE_80 = `# deployer: staging (hello-staging)
# deployer-slots blue=21001 green=21002
http://:80 {
	@green file {
		root /srv/proxy/live
		try_files hello-staging.green
	}
	handle @green {
		reverse_proxy 127.0.0.1:21002 {
			lb_try_duration 5s
			lb_try_interval 100ms
		}
	}
	handle {
		reverse_proxy 127.0.0.1:21001 {
			lb_try_duration 5s
			lb_try_interval 100ms
		}
	}
}
`;

describe('proxy texts', () => {
  it('writes a site for :80 that sends requests to green while its marker exists, else to blue, retrying a closed one', () => {
    expect(
      proxySiteFile({
        address: ':80',
        dir: '/srv/proxy',
        name: 'hello-staging',
        slots: { blue: 21001, green: 21002 },
        note: 'deployer: staging (hello-staging)',
      }),
    ).toBe(SITE_80);
  });

  it('writes a named site with its port, the note on one comment line whatever its newlines', () => {
    const text = proxySiteFile({
      address: 'staging.example.com:8080',
      dir: '/home/deploy/.deployer-proxy',
      name: 'hello-prod',
      slots: { blue: 29999, green: 20000 },
      note: 'release r2\nreverse_proxy 10.0.0.1:1 {\r\n}\r# deployer-slots blue=1 green=2',
    });
    expect(text.split('\n').slice(0, 8)).toEqual([
      '# release r2 reverse_proxy 10.0.0.1:1 { } # deployer-slots blue=1 green=2',
      '# deployer-slots blue=29999 green=20000',
      'http://staging.example.com:8080 {',
      '\t@green file {',
      '\t\troot /home/deploy/.deployer-proxy/live',
      '\t\ttry_files hello-prod.green',
      '\t}',
      '\thandle @green {',
    ]);
    expect(text).toContain('\thandle @green {\n\t\treverse_proxy 127.0.0.1:20000 {');
    expect(text).toContain('\thandle {\n\t\treverse_proxy 127.0.0.1:29999 {');
    // Nothing but the two slots is ever an upstream (the note is a comment).
    const directives = text
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .join('\n');
    expect(directives.match(/reverse_proxy \S+/g)).toEqual([
      'reverse_proxy 127.0.0.1:20000',
      'reverse_proxy 127.0.0.1:29999',
    ]);
  });

  it('reads the slot ports back from a site file, never from its note', () => {
    expect(parseSiteSlots(SITE_80)).toEqual({ blue: 21001, green: 21002 });
    const slots: SlotPorts = { blue: 25000, green: 25001 };
    expect(
      parseSiteSlots(
        proxySiteFile({
          address: ':80',
          dir: '/srv/proxy',
          name: 'x',
          slots,
          note: 'x\n# deployer-slots blue=1 green=2',
        }),
      ),
    ).toEqual(slots);
    expect(parseSiteSlots('')).toBeUndefined();
    // A site file without the line (the single-upstream format before slots), or a damaged line.
    expect(
      parseSiteSlots(
        '# deployer: staging\nhttp://:80 {\n\treverse_proxy 127.0.0.1:49153 {\n\t\tlb_try_duration 5s\n\t}\n}\n',
      ),
    ).toBeUndefined();
    expect(parseSiteSlots('# deployer-slots blue=1\n')).toBeUndefined();
    expect(parseSiteSlots('## deployer-slots blue=1 green=2\n')).toBeUndefined();
    expect(parseSiteSlots('# deployer-slots blue=1 green=2 x\n')).toBeUndefined();
  });

  it('names the other slot', () => {
    expect(otherSlot('blue')).toBe('green');
    expect(otherSlot('green')).toBe('blue');
  });

  it('has the proxy’s admin API on a unix socket in its folder and imports every site file there', () => {
    expect(proxyCaddyfile('/srv/proxy'))
      .toBe(`# Written by deployer. Each environment's site is a file in /srv/proxy/sites.
{
	admin unix//srv/proxy/admin.sock
	auto_https off
}
import /srv/proxy/sites/*.caddy
`);
    // No admin address on the network, ever.
    expect(proxyCaddyfile('/srv/proxy')).not.toMatch(/admin\s+(?!unix\/)/);
  });

  it('takes an absolute folder or one in the home folder, without spaces, quotes, substitutions or dot folders', () => {
    for (const dir of [
      '~',
      '~/',
      '~/.deployer-proxy',
      '/srv/proxy',
      '/srv/proxy/',
      '/a',
      '/srv/.proxy',
      '/srv/a..b',
      '/srv/proxy.d/x',
    ])
      expect(PROXY_DIR.test(dir), dir).toBe(true);
    for (const dir of [
      '',
      '/',
      '//',
      '///',
      '/.',
      '/..',
      '/./',
      '/srv/..',
      '/srv/../x',
      '/srv/./x',
      '/srv/.',
      '~/..',
      '~/.',
      '~/../x',
      'relative/dir',
      '~user/x',
      '/srv/my proxy',
      '/srv/$(x)',
      "/srv/'x'",
      '/srv/a|b',
      '/srv/a&b',
      '/srv/a\\b',
    ])
      expect(PROXY_DIR.test(dir), dir).toBe(false);
  });
});

const v2: ComposeProject = {
  flavor: { command: 'docker compose', major: 2 },
  projectName: 'hello-staging',
  composeFile: 'docker-compose.yml',
  envFile: 'deploy.env',
};

/** The argv is `sh -c <constant script> sh <values…>`: values are positional, never in the script. */
function expectPositional(argv: string[], values: string[]) {
  expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
  expect(argv[3]).toBe('sh');
  expect(argv.slice(4)).toEqual(values);
  for (const value of values.filter((value) => value.includes('$(touch')))
    expect(argv[2], value).not.toContain(value);
  expect(argv[2]).not.toContain('touch');
}

describe('every value reaches the host scripts as a positional argument', () => {
  const evil = (what: string) => `${what} '"; touch /tmp/x; $(touch /tmp/x) \`id\` "' end`;
  const evilFence = { lock: evil('lock'), token: evil('token') };
  const ref = { container: evil('container'), dir: evil('dir'), name: evil('name') };
  const values = [evilFence.lock, evilFence.token, ref.container, ref.dir, ref.name];

  it('proxy.ensure', () => {
    const spec = { container: evil('container'), image: evil('image'), dir: evil('dir') };
    const argv = proxy.ensure(spec, evil('site'));
    expectPositional(argv, [spec.container, spec.image, spec.dir, proxyCaddyfile('@DIR@'), evil('site')]);
  });

  it('proxy.setLive, proxy.writeSite and proxy.removeSite', () => {
    expectPositional(proxy.setLive(evilFence, ref, 'green'), [...values, 'green']);
    expectPositional(proxy.setLive(evilFence, ref, 'blue'), [...values, 'blue']);
    expectPositional(proxy.writeSite(evilFence, ref, 'green'), [...values, 'green']);
    expectPositional(proxy.removeSite(evilFence, ref), values);
  });

  it('host.launchApp and host.retire', () => {
    const run = ['docker', 'compose', 'run', evil('service')];
    expectPositional(
      host.launchApp(
        evilFence,
        run,
        { name: evil('name'), restart: evil('restart'), port: 8080 },
        evil('cwd'),
      ),
      [evilFence.lock, evilFence.token, evil('name'), evil('restart'), '8080', evil('cwd'), ...run],
    );
    expectPositional(host.retire(30, [evil('id1'), evil('id2')]), ['30', evil('id1'), evil('id2')]);
  });
});

describe('compose.runApp', () => {
  it('starts a named container of the service, its port on its slot’s loopback port, labelled', () => {
    expect(
      compose.runApp(v2, 'app', {
        name: 'hello-staging-app-r1',
        port: 8080,
        hostPort: 21001,
        labels: { 'deployer.release': 'r1' },
      }),
    ).toEqual([
      'docker',
      'compose',
      '--project-name',
      'hello-staging',
      '--file',
      'docker-compose.yml',
      '--env-file',
      'deploy.env',
      'run',
      '--detach',
      '--name',
      'hello-staging-app-r1',
      '--no-deps',
      '--use-aliases',
      '--publish',
      '127.0.0.1:21001:8080',
      '--label',
      'deployer.release=r1',
      'app',
    ]);
  });
});

describe('container states: name and the host ports a slot may be held by', () => {
  const line = (portBindings: string) =>
    `{"id":"abc","name":"/hello-staging-app-r1","image":"r/app:1","imageId":"sha256:1","status":"exited","exitCode":0,"restarting":false,"restartCount":0,"startedAt":"2024-01-01T00:00:00Z","portBindings":${portBindings}}`;

  it('asks docker for the configured port bindings', () => {
    expect(docker.inspectContainers(['abc']).join(' ')).toContain(
      '"portBindings":{{json .HostConfig.PortBindings}}',
    );
  });

  it('strips the name’s leading slash and reads the bound host ports, even of a stopped container', () => {
    const [state] = parseContainerStates(
      `${line('{"8080/tcp":[{"HostIp":"127.0.0.1","HostPort":"21001"}]}')}\n`,
    );
    expect(state).toMatchObject({ id: 'abc', name: 'hello-staging-app-r1', hostPorts: [21001] });
    expect(state).not.toHaveProperty('portBindings');
  });

  it('has no host ports when nothing is bound, or the port is ephemeral', () => {
    for (const bindings of [
      'null',
      '{}',
      '{"8080/tcp":null}',
      '{"8080/tcp":[]}',
      '{"8080/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}',
    ])
      expect(parseContainerStates(line(bindings))[0]?.hostPorts, bindings).toEqual([]);
  });

  it('reads every binding of every port', () => {
    expect(
      parseContainerStates(
        line(
          '{"8080/tcp":[{"HostIp":"127.0.0.1","HostPort":"21001"},{"HostIp":"::1","HostPort":"21001"}],"9090/tcp":[{"HostIp":"","HostPort":"9090"}]}',
        ),
      )[0]?.hostPorts,
    ).toEqual([21001, 21001, 9090]);
  });

  it('leaves hostPorts unset when the output has no portBindings (an older format)', () => {
    const [state] = parseContainerStates(
      '{"id":"abc","name":"/x","image":"i","imageId":"s","status":"running","exitCode":0,"restarting":false,"restartCount":0,"startedAt":""}',
    );
    expect(state?.name).toBe('x');
    expect(state).not.toHaveProperty('hostPorts');
  });
});

// A fake `docker` and `flock`: each call appends `[name][arg1][arg2]…` to $FAKE_LOG; what they answer
// comes from FAKE_* variables. With FAKE_SNAPSHOT (a proxy folder), `docker exec` (the reload) copies
// its sites and live folders to $FAKE_LOG.snap: what the proxy would have read.
const FAKE_DOCKER = `#!/bin/sh
{ printf '[%s]' "$(basename "$0")" "$@"; echo; } >> "$FAKE_LOG"
case "$1" in
  inspect)
    if [ -e "$FAKE_LOG.ran" ] && [ -n "\${FAKE_INSPECT_AFTER_RUN-}" ]; then printf '%s\\n' "$FAKE_INSPECT_AFTER_RUN"; exit 0; fi
    [ -n "\${FAKE_INSPECT-}" ] || { echo "Error: No such object: $4" >&2; exit 1; }
    printf '%s\\n' "$FAKE_INSPECT" ;;
  run) : > "$FAKE_LOG.ran"; exit "\${FAKE_RUN_EXIT:-0}" ;;
  exec)
    [ -z "\${FAKE_SNAPSHOT-}" ] || { rm -rf "$FAKE_LOG.snap"; mkdir "$FAKE_LOG.snap"; cp -R "$FAKE_SNAPSHOT/sites" "$FAKE_SNAPSHOT/live" "$FAKE_LOG.snap/"; }
    [ -z "\${FAKE_EXEC_EXIT-}" ] || [ "$FAKE_EXEC_EXIT" = 0 ] || { echo "Error: adapting config: bad site" >&2; exit "$FAKE_EXEC_EXIT"; } ;;
  start) exit "\${FAKE_START_EXIT:-0}" ;;
  stop) exit "\${FAKE_STOP_EXIT:-0}" ;;
  ps) [ -z "\${FAKE_PS-}" ] || printf '%s\\n' "$FAKE_PS" ;;
  port) [ -z "\${FAKE_PORT-}" ] || printf '%s\\n' "$FAKE_PORT" ;;
  compose) pwd > "$FAKE_LOG.cwd"; exit "\${FAKE_COMPOSE_EXIT:-0}" ;;
esac
exit 0
`;
const FAKE_FLOCK = `#!/bin/sh
{ printf '[%s]' "$(basename "$0")" "$@"; echo; } >> "$FAKE_LOG"
exit "\${FAKE_FLOCK_EXIT:-0}"
`;
/** `mv` and `rm` that record their arguments, then do their work. */
const tracing = (real: string) => `#!/bin/sh
{ printf '[%s]' "$(basename "$0")" "$@"; echo; } >> "$FAKE_LOG"
exec ${real} "$@"
`;

/** POSIX `cksum`'s CRC of a text: the slots search of a site starts at 20000 + this % 10000. */
function cksum(text: string): number {
  let crc = 0;
  const step = (byte: number) => {
    crc = (crc ^ (byte << 24)) >>> 0;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  };
  const bytes = Buffer.from(text, 'utf8');
  for (const byte of bytes) step(byte);
  for (let length = bytes.length; length > 0; length = Math.floor(length / 256)) step(length & 0xff);
  return ~crc >>> 0;
}
const startPort = (name: string) => (cksum(name) % 10000) + 20000;

/** TCP ports something listens on here, read from /proc/net/tcp{,6} (state 0A). */
function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const row of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = row.trim().split(/\s+/);
      if (fields[3] === '0A') ports.add(parseInt(fields[1]!.split(':').pop()!, 16));
    }
  }
  return ports;
}

/** The two ports `free` should print for `name`: the first from its start point nobody holds. */
function expectedFree(name: string, taken: number[]): [number, number] {
  const busy = listeningPorts();
  const found: number[] = [];
  for (let port = startPort(name); found.length < 2; port = port + 1 < 30000 ? port + 1 : 20000)
    if (!busy.has(port) && !taken.includes(port)) found.push(port);
  return found as [number, number];
}

const listen = (port: number, hostname: string) =>
  new Promise<Server | undefined>((done) => {
    const server = createServer();
    server.once('error', () => done(undefined));
    server.listen(port, hostname, () => done(server));
  });
const close = (server: Server | undefined) =>
  new Promise<void>((done) => (server ? server.close(() => done()) : done()));

describe('blue-green host scripts (run here with a real sh, a fake docker and flock)', () => {
  let tmp: string;
  let log: string;
  let lock: string;
  /** The proxy folder, with a live unix socket as admin.sock (the reload waits for one). */
  let proxyDir: string;
  let admin: Server;
  let home: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'deployer-proxy-'));
    mkdirSync(`${tmp}/bin`);
    writeFileSync(`${tmp}/bin/docker`, FAKE_DOCKER, { mode: 0o755 });
    writeFileSync(`${tmp}/bin/flock`, FAKE_FLOCK, { mode: 0o755 });
    mkdirSync(`${tmp}/trace`);
    for (const tool of ['mv', 'rm']) {
      const real = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' }).stdout.trim();
      expect(real, tool).toMatch(/^\//);
      writeFileSync(`${tmp}/trace/${tool}`, tracing(real), { mode: 0o755 });
    }
    proxyDir = `${tmp}/proxy`;
    mkdirSync(proxyDir);
    admin = createServer();
    await new Promise<void>((done) => admin.listen(`${proxyDir}/admin.sock`, done));
    home = `${tmp}/home`;
    mkdirSync(home);
    lock = `${tmp}/lock`;
  });
  afterAll(async () => {
    await new Promise((done) => admin.close(done));
    rmSync(tmp, { recursive: true, force: true });
  });

  let count = 0;
  beforeEach(() => {
    log = `${tmp}/calls.${++count}`;
    writeFileSync(lock, `${Math.floor(Date.now() / 1000) + 600}\n{"token":"T0KEN-ours"}\n`);
    rmSync(`${proxyDir}/sites`, { recursive: true, force: true });
    rmSync(`${proxyDir}/live`, { recursive: true, force: true });
  });

  const run = (
    argv: string[],
    options: { env?: Record<string, string>; input?: string; trace?: boolean } = {},
  ) => {
    const result = spawnSync(argv[0]!, argv.slice(1), {
      input: options.input ?? '',
      encoding: 'utf8',
      cwd: tmp,
      env: {
        ...process.env,
        PATH: `${options.trace ? `${tmp}/trace:` : ''}${tmp}/bin:${process.env.PATH}`,
        HOME: home,
        FAKE_LOG: log,
        ...options.env,
      },
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  const fenced = (): Fence => ({ lock, token: 'T0KEN-ours' });
  const theirs = () =>
    writeFileSync(lock, `${Math.floor(Date.now() / 1000) + 600}\n{"token":"T0KEN-theirs"}\n`);
  const ref = (over: Partial<SiteRef> = {}): SiteRef => ({
    container: 'deployer-proxy',
    dir: proxyDir,
    name: 'hello-staging',
    ...over,
  });
  const siteFile = () => `${proxyDir}/sites/hello-staging.caddy`;
  const marker = () => `${proxyDir}/live/hello-staging.green`;
  const RELOAD = () =>
    `[docker][exec][deployer-proxy][caddy][reload][--config][${proxyDir}/Caddyfile][--adapter][caddyfile][--address][unix/${proxyDir}/admin.sock]`;
  const site = (blue: number, green = blue + 1, address = ':80') =>
    proxySiteFile({
      address,
      dir: proxyDir,
      name: 'hello-staging',
      slots: { blue, green },
      note: `deployer: staging on ${blue}/${green}`,
    });
  /** The proxy folder as a deploy left it: this site's file, and its marker when green is live. */
  const given = (text: string | undefined, live: 'blue' | 'green') => {
    mkdirSync(`${proxyDir}/sites`, { recursive: true });
    mkdirSync(`${proxyDir}/live`, { recursive: true });
    if (text !== undefined) writeFileSync(siteFile(), text);
    if (live === 'green') writeFileSync(marker(), '');
  };
  const listing = (folder: string) => (existsSync(folder) ? readdirSync(folder).sort() : []);

  describe('proxy.setLive', () => {
    it('makes green live by renaming a fresh marker into place, without a reload', () => {
      given(site(21001), 'blue');
      const result = run(proxy.setLive(fenced(), ref(), 'green'), { trace: true });
      expect(result).toMatchObject({ code: 0, stdout: 'live green\n', stderr: '' });
      expect(existsSync(marker())).toBe(true);
      expect(readFileSync(marker(), 'utf8')).toBe('');
      expect(listing(`${proxyDir}/live`)).toEqual(['hello-staging.green']);
      const [flock, mv, ...rest] = calls();
      expect(flock).toBe('[flock][-w][60][9]');
      // One rename(2) in the same folder: the marker is never there half-made.
      expect(mv).toMatch(
        new RegExp(
          `^\\[mv\\]\\[-f\\]\\[${proxyDir}/live/hello-staging\\.green\\.tmp\\.\\d+\\]\\[${proxyDir}/live/hello-staging\\.green\\]$`,
        ),
      );
      expect(rest).toEqual([]);
      // The site file is not touched.
      expect(readFileSync(siteFile(), 'utf8')).toBe(site(21001));
    });

    it('makes blue live by removing the marker, without a reload', () => {
      given(site(21001), 'green');
      const result = run(proxy.setLive(fenced(), ref(), 'blue'), { trace: true });
      expect(result).toMatchObject({ code: 0, stdout: 'live blue\n', stderr: '' });
      expect(existsSync(marker())).toBe(false);
      expect(calls()).toEqual(['[flock][-w][60][9]', `[rm][-f][${marker()}]`]);
      expect(calls().some((call) => call.startsWith('[docker]'))).toBe(false);
    });

    it('is idempotent either way', () => {
      given(site(21001), 'green');
      expect(run(proxy.setLive(fenced(), ref(), 'green'))).toMatchObject({ code: 0, stdout: 'live green\n' });
      expect(listing(`${proxyDir}/live`)).toEqual(['hello-staging.green']);
      expect(run(proxy.setLive(fenced(), ref(), 'blue'))).toMatchObject({ code: 0, stdout: 'live blue\n' });
      expect(run(proxy.setLive(fenced(), ref(), 'blue'))).toMatchObject({ code: 0, stdout: 'live blue\n' });
      expect(listing(`${proxyDir}/live`)).toEqual([]);
    });

    it('makes its folders when the proxy has none yet (a proxy folder from before slots)', () => {
      mkdirSync(`${proxyDir}/sites`);
      const result = run(proxy.setLive(fenced(), ref(), 'green'));
      expect(result.code).toBe(0);
      expect(existsSync(marker())).toBe(true);
    });

    it('leaves other environments’ markers alone', () => {
      given(site(21001), 'green');
      writeFileSync(`${proxyDir}/live/other-prod.green`, '');
      run(proxy.setLive(fenced(), ref(), 'blue'));
      expect(listing(`${proxyDir}/live`)).toEqual(['other-prod.green']);
      run(proxy.setLive(fenced(), ref(), 'green'));
      expect(listing(`${proxyDir}/live`)).toEqual(['hello-staging.green', 'other-prod.green']);
    });

    it('refuses before touching anything when the deploy lock is not ours any more', () => {
      given(site(21001), 'green');
      theirs();
      const blue = run(proxy.setLive(fenced(), ref(), 'blue'), { trace: true });
      expect(blue.code).toBe(EXIT.leaseLost);
      expect(blue.stdout).toBe('');
      expect(blue.stderr).toContain(`the deploy lock ${lock} is no longer held by this deploy`);
      expect(existsSync(marker())).toBe(true);
      expect(calls()).toEqual([]);

      rmSync(marker());
      const green = run(proxy.setLive(fenced(), ref(), 'green'), { trace: true });
      expect(green.code).toBe(EXIT.leaseLost);
      expect(listing(`${proxyDir}/live`)).toEqual([]);
      expect(calls()).toEqual([]);

      // Not even the proxy's folders are made.
      const fresh = `${tmp}/untouched-proxy-live`;
      rmSync(lock);
      expect(run(proxy.setLive(fenced(), ref({ dir: fresh }), 'green')).code).toBe(EXIT.leaseLost);
      expect(existsSync(fresh)).toBe(false);
      expect(calls()).toEqual([]);
    });

    it('gives up when another deploy holds the proxy’s lock for 60 s, the marker unchanged', () => {
      given(site(21001), 'blue');
      const result = run(proxy.setLive(fenced(), ref(), 'green'), { env: { FAKE_FLOCK_EXIT: '1' } });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('another deploy has been reconfiguring the proxy for 60 s');
      expect(existsSync(marker())).toBe(false);
      expect(listing(`${proxyDir}/live`)).toEqual([]);
    });

    it('carries values with quotes, spaces and substitutions as they are', () => {
      const name = `we ird'"$(touch pwned)`;
      const evilFence = { lock, token: `t'o"k $(touch ${tmp}/pwned3)` };
      writeFileSync(lock, `1\n${evilFence.token}\n`);
      const result = run(
        proxy.setLive(evilFence, ref({ name, container: `c $(touch ${tmp}/pwned2)` }), 'green'),
      );
      expect(result).toMatchObject({ code: 0, stdout: 'live green\n' });
      expect(listing(`${proxyDir}/live`)).toEqual([`${name}.green`]);
      expect(readdirSync(tmp).filter((entry) => entry.startsWith('pwned'))).toEqual([]);
      expect(run(proxy.setLive(evilFence, ref({ name }), 'blue')).code).toBe(0);
      expect(listing(`${proxyDir}/live`)).toEqual([]);
    });
  });

  describe('proxy.writeSite', () => {
    it('writes a first site, makes its slot live and reloads the proxy under its lock', () => {
      const result = run(proxy.writeSite(fenced(), ref(), 'blue'), {
        input: site(21001),
        env: { FAKE_SNAPSHOT: proxyDir },
      });
      expect(result).toMatchObject({ code: 0, stdout: 'switched\n' });
      expect(readFileSync(siteFile(), 'utf8')).toBe(site(21001));
      expect(statSync(siteFile()).mode & 0o777).toBe(0o644);
      expect(listing(`${proxyDir}/sites`)).toEqual(['hello-staging.caddy']);
      expect(existsSync(marker())).toBe(false);
      expect(calls()).toEqual(['[flock][-w][60][9]', RELOAD()]);
      expect(existsSync(`${proxyDir}/reload.lock`)).toBe(true);
      // The reload read the new file, and nothing else the Caddyfile's import (sites/*.caddy) takes.
      expect(listing(`${log}.snap/sites`).filter((file) => file.endsWith('.caddy'))).toEqual([
        'hello-staging.caddy',
      ]);
      expect(readFileSync(`${log}.snap/sites/hello-staging.caddy`, 'utf8')).toBe(site(21001));
    });

    it('sets the marker before the reload when the slot is green', () => {
      const result = run(proxy.writeSite(fenced(), ref(), 'green'), {
        input: site(21001),
        env: { FAKE_SNAPSHOT: proxyDir },
      });
      expect(result).toMatchObject({ code: 0, stdout: 'switched\n' });
      expect(existsSync(marker())).toBe(true);
      expect(listing(`${log}.snap/live`)).toEqual(['hello-staging.green']);
    });

    it('replaces the previous site and slot when the proxy takes the new one, leaving no copies', () => {
      given(site(21001), 'green');
      const result = run(proxy.writeSite(fenced(), ref(), 'blue'), {
        input: site(21001, 21002, 'staging.example.com:8080'),
        env: { FAKE_SNAPSHOT: proxyDir },
      });
      expect(result).toMatchObject({ code: 0, stdout: 'switched\n' });
      expect(readFileSync(siteFile(), 'utf8')).toBe(site(21001, 21002, 'staging.example.com:8080'));
      expect(existsSync(marker())).toBe(false);
      expect(listing(`${proxyDir}/sites`)).toEqual(['hello-staging.caddy']);
      expect(listing(`${proxyDir}/live`)).toEqual([]);
      // During the reload the old file waits beside it, outside the import's *.caddy.
      expect(listing(`${log}.snap/sites`)).toEqual(['hello-staging.caddy', 'hello-staging.caddy.prev']);
      expect(listing(`${log}.snap/live`)).toEqual([]);
    });

    const refused = [
      { was: 'blue', slot: 'green' },
      { was: 'green', slot: 'blue' },
      { was: 'green', slot: 'green' },
      { was: 'blue', slot: 'blue' },
    ] as const;
    for (const { was, slot } of refused)
      it(`puts the previous site and the ${was} slot back when the proxy refuses the new one (writing ${slot})`, () => {
        given(site(21001), was);
        writeFileSync(`${proxyDir}/live/other-prod.green`, '');
        const result = run(proxy.writeSite(fenced(), ref(), slot), {
          input: site(21001, 21002, 'staging.example.com'),
          env: { FAKE_EXEC_EXIT: '1', FAKE_SNAPSHOT: proxyDir },
        });
        expect(result.code).toBe(1);
        expect(result.stdout).not.toContain('switched');
        expect(result.stderr).toContain('bad site');
        // The proxy was asked to take the new file and slot…
        expect(readFileSync(`${log}.snap/sites/hello-staging.caddy`, 'utf8')).toBe(
          site(21001, 21002, 'staging.example.com'),
        );
        expect(existsSync(`${log}.snap/live/hello-staging.green`)).toBe(slot === 'green');
        // …and everything is as it was.
        expect(readFileSync(siteFile(), 'utf8')).toBe(site(21001));
        expect(existsSync(marker())).toBe(was === 'green');
        expect(listing(`${proxyDir}/sites`)).toEqual(['hello-staging.caddy']);
        expect(listing(`${proxyDir}/live`)).toEqual(
          was === 'green' ? ['hello-staging.green', 'other-prod.green'] : ['other-prod.green'],
        );
        expect(calls()).toEqual(['[flock][-w][60][9]', RELOAD()]);
      });

    it('removes a refused first site and its marker: there was nothing to put back', () => {
      const result = run(proxy.writeSite(fenced(), ref(), 'green'), {
        input: site(21001),
        env: { FAKE_EXEC_EXIT: '1' },
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(listing(`${proxyDir}/sites`)).toEqual([]);
      expect(listing(`${proxyDir}/live`)).toEqual([]);
    });

    it('leaves other environments’ sites and markers alone', () => {
      given(undefined, 'blue');
      writeFileSync(`${proxyDir}/sites/other-prod.caddy`, 'other');
      writeFileSync(`${proxyDir}/live/other-prod.green`, '');
      run(proxy.writeSite(fenced(), ref(), 'green'), { input: site(21001), env: { FAKE_EXEC_EXIT: '1' } });
      run(proxy.writeSite(fenced(), ref(), 'blue'), { input: site(21001) });
      expect(readFileSync(`${proxyDir}/sites/other-prod.caddy`, 'utf8')).toBe('other');
      expect(listing(`${proxyDir}/sites`)).toEqual(['hello-staging.caddy', 'other-prod.caddy']);
      expect(listing(`${proxyDir}/live`)).toEqual(['other-prod.green']);
    });

    it('refuses before touching anything when the deploy lock is not ours any more', () => {
      given(site(21001), 'green');
      theirs();
      const result = run(proxy.writeSite(fenced(), ref(), 'blue'), { input: site(22001) });
      expect(result.code).toBe(EXIT.leaseLost);
      expect(result.stderr).toContain(`the deploy lock ${lock} is no longer held by this deploy`);
      expect(readFileSync(siteFile(), 'utf8')).toBe(site(21001));
      expect(existsSync(marker())).toBe(true);
      expect(listing(`${proxyDir}/sites`)).toEqual(['hello-staging.caddy']);
      expect(calls()).toEqual([]);

      const fresh = `${tmp}/untouched-proxy`;
      rmSync(lock);
      expect(run(proxy.writeSite(fenced(), ref({ dir: fresh }), 'green'), { input: site(22001) }).code).toBe(
        EXIT.leaseLost,
      );
      expect(existsSync(fresh)).toBe(false);
      expect(calls()).toEqual([]);
    });

    it('gives up when another deploy holds the proxy’s lock for 60 s, site and slot unchanged', () => {
      given(site(21001), 'green');
      const result = run(proxy.writeSite(fenced(), ref(), 'blue'), {
        input: site(22001),
        env: { FAKE_FLOCK_EXIT: '1' },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('another deploy has been reconfiguring the proxy for 60 s');
      expect(readFileSync(siteFile(), 'utf8')).toBe(site(21001));
      expect(existsSync(marker())).toBe(true);
      expect(calls()).toEqual(['[flock][-w][60][9]']);
    });

    it('carries values with quotes, spaces and substitutions as they are', () => {
      const name = `we ird'"$(touch pwned)`;
      const evilFence = { lock, token: `t'o"k $(touch ${tmp}/pwned3)` };
      writeFileSync(lock, `1\n${evilFence.token}\n`);
      const result = run(
        proxy.writeSite(evilFence, ref({ name, container: `c $(touch ${tmp}/pwned2)` }), 'green'),
        { input: 'text' },
      );
      expect(result.code).toBe(0);
      expect(readFileSync(`${proxyDir}/sites/${name}.caddy`, 'utf8')).toBe('text');
      expect(listing(`${proxyDir}/live`)).toEqual([`${name}.green`]);
      expect(readdirSync(tmp).filter((entry) => entry.startsWith('pwned'))).toEqual([]);
      expect(calls()[1]).toContain(`[exec][c $(touch ${tmp}/pwned2)][caddy][reload]`);
    });
  });

  describe('proxy.removeSite', () => {
    it('removes the site and its marker, and reloads', () => {
      given(site(21001), 'green');
      writeFileSync(`${proxyDir}/live/other-prod.green`, '');
      const result = run(proxy.removeSite(fenced(), ref()), { env: { FAKE_SNAPSHOT: proxyDir } });
      expect(result).toMatchObject({ code: 0, stdout: 'removed\n' });
      expect(existsSync(siteFile())).toBe(false);
      expect(existsSync(marker())).toBe(false);
      expect(listing(`${proxyDir}/live`)).toEqual(['other-prod.green']);
      expect(listing(`${log}.snap/sites`)).toEqual([]);
      expect(calls()).toEqual(['[flock][-w][60][9]', RELOAD()]);
    });

    it('fails when the proxy does not reload', () => {
      given(site(21001), 'blue');
      const result = run(proxy.removeSite(fenced(), ref()), { env: { FAKE_EXEC_EXIT: '1' } });
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
    });

    it('refuses before touching anything when the deploy lock is not ours any more', () => {
      given(site(21001), 'green');
      const result = run(proxy.removeSite({ lock, token: 'T0KEN-theirs' }, ref()));
      expect(result.code).toBe(EXIT.leaseLost);
      expect(readFileSync(siteFile(), 'utf8')).toBe(site(21001));
      expect(existsSync(marker())).toBe(true);
      expect(calls()).toEqual([]);
    });
  });

  describe('proxy.ensure', () => {
    const spec = (dir: string) => ({ container: 'deployer-proxy', image: 'caddy:2', dir });
    const decode = (stdout: string) =>
      Buffer.from(/^site (\S*)$/m.exec(stdout)![1]!, 'base64').toString('utf8');
    const freeOf = (stdout: string): [number, number] | undefined => {
      const found = /^free (\d+) (\d+)$/m.exec(stdout);
      return found ? [Number(found[1]), Number(found[2])] : undefined;
    };
    const INSPECT = `[docker][inspect][--format][{{.State.Status}}|{{index .Config.Labels "${PROXY_DIR_LABEL}"}}|{{.Config.Image}}][deployer-proxy]`;
    /** Two ports of 20000-29999, distinct, that nothing here listens on. */
    const expectSlotPorts = (ports: [number, number] | undefined) => {
      expect(ports).toBeDefined();
      const [blue, green] = ports!;
      for (const port of [blue, green]) {
        expect(port).toBeGreaterThanOrEqual(20000);
        expect(port).toBeLessThanOrEqual(29999);
      }
      expect(blue).not.toBe(green);
    };

    it('creates the proxy with its Caddyfile when there is none, and offers two free slot ports', () => {
      const dir = `${tmp}/created`;
      const expected = expectedFree('hello-staging', []);
      const result = run(proxy.ensure(spec(dir), 'hello-staging'));
      expect(result).toMatchObject({
        code: 0,
        stdout: `site \nlive blue\nfree ${expected.join(' ')}\nproxy created ${dir} caddy:2\n`,
      });
      expectSlotPorts(freeOf(result.stdout));
      expect(readFileSync(`${dir}/Caddyfile`, 'utf8')).toBe(proxyCaddyfile(dir));
      expect(statSync(`${dir}/Caddyfile`).mode & 0o777).toBe(0o644);
      expect(readdirSync(dir).sort()).toEqual(['Caddyfile', 'live', 'sites']);
      expect(calls()).toEqual([
        INSPECT,
        `[docker][run][--detach][--name][deployer-proxy][--network][host][--restart][unless-stopped][--label][${PROXY_DIR_LABEL}=${dir}][--volume][${dir}:${dir}][caddy:2][caddy][run][--config][${dir}/Caddyfile][--adapter][caddyfile]`,
      ]);
    });

    it('makes ~/ the SSH user’s home folder', () => {
      const result = run(proxy.ensure(spec('~/.deployer-proxy'), 'hello-staging'));
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        new RegExp(
          `^site \\nlive blue\\nfree \\d+ \\d+\\nproxy created ${home}/\\.deployer-proxy caddy:2\\n$`,
        ),
      );
      expect(readFileSync(`${home}/.deployer-proxy/Caddyfile`, 'utf8')).toBe(
        proxyCaddyfile(`${home}/.deployer-proxy`),
      );
      expect(calls()[1]).toContain(`[--label][${PROXY_DIR_LABEL}=${home}/.deployer-proxy]`);
      expect(existsSync(`${tmp}/~`)).toBe(false);

      const bare = run(proxy.ensure(spec('~'), 'hello-staging'));
      expect(bare.stdout).toMatch(
        new RegExp(`^site \\nlive blue\\nfree \\d+ \\d+\\nproxy created ${home} caddy:2\\n$`),
      );
      expect(existsSync(`${home}/Caddyfile`)).toBe(true);
    });

    it('leaves a running proxy alone and reports its own folder, image, our site and live slot', () => {
      given(site(21001), 'blue');
      writeFileSync(`${proxyDir}/Caddyfile`, 'theirs\n');
      const result = run(proxy.ensure(spec(`${tmp}/elsewhere`), 'hello-staging'), {
        env: { FAKE_INSPECT: `running|${proxyDir}|caddy:2.8` },
      });
      expect(result.code).toBe(0);
      // The site has a file: its slots are in it, no free ports are looked for.
      expect(result.stdout).toMatch(
        new RegExp(`^site \\S+\\nlive blue\\nproxy running ${proxyDir} caddy:2\\.8\\n$`),
      );
      expect(decode(result.stdout)).toBe(site(21001));
      expect(calls()).toEqual([INSPECT]);
      expect(readFileSync(`${proxyDir}/Caddyfile`, 'utf8')).toBe('theirs\n');
      expect(existsSync(`${tmp}/elsewhere`)).toBe(false);
    });

    it('says green is live while the site’s marker is there', () => {
      given(site(21001), 'green');
      const result = run(proxy.ensure(spec(proxyDir), 'hello-staging'), {
        env: { FAKE_INSPECT: `running|${proxyDir}|caddy:2` },
      });
      expect(result.stdout).toMatch(
        new RegExp(`^site \\S+\\nlive green\\nproxy running ${proxyDir} caddy:2\\n$`),
      );
      // Another environment's marker is not ours.
      rmSync(marker());
      writeFileSync(`${proxyDir}/live/other-prod.green`, '');
      expect(
        run(proxy.ensure(spec(proxyDir), 'hello-staging'), {
          env: { FAKE_INSPECT: `running|${proxyDir}|caddy:2` },
        }).stdout,
      ).toContain('\nlive blue\n');
    });

    it('says there is no site yet with an empty `site` line, and offers free ports', () => {
      const result = run(proxy.ensure(spec(proxyDir), 'hello-staging'), {
        env: { FAKE_INSPECT: `running|${proxyDir}|caddy:2` },
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        new RegExp(`^site \\nlive blue\\nfree \\d+ \\d+\\nproxy running ${proxyDir} caddy:2\\n$`),
      );
      expectSlotPorts(freeOf(result.stdout));
      // ensure only reads: no folder is made in a running proxy's folder.
      expect(existsSync(`${proxyDir}/sites`)).toBe(false);
    });

    it('starts a stopped proxy of ours', () => {
      const result = run(proxy.ensure(spec(proxyDir), 'hello-staging'), {
        env: { FAKE_INSPECT: `exited|${proxyDir}|caddy:2` },
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        new RegExp(`^site \\nlive blue\\nfree \\d+ \\d+\\nproxy started ${proxyDir} caddy:2\\n$`),
      );
      expect(calls()).toEqual([INSPECT, '[docker][start][deployer-proxy]']);
      const failed = run(proxy.ensure(spec(proxyDir), 'x'), {
        env: { FAKE_INSPECT: `exited|${proxyDir}|caddy:2`, FAKE_START_EXIT: '1' },
      });
      expect(failed.code).toBe(1);
      expect(failed.stdout).not.toMatch(/^proxy /m);
    });

    it('takes a proxy another environment created a moment ago, and fails when there is none', () => {
      const dir = `${tmp}/raced`;
      const raced = run(proxy.ensure(spec(dir), 'hello-staging'), {
        env: { FAKE_RUN_EXIT: '125', FAKE_INSPECT_AFTER_RUN: `running|${proxyDir}|caddy:2` },
      });
      expect(raced.code).toBe(0);
      expect(raced.stdout).toMatch(new RegExp(`\\nproxy running ${proxyDir} caddy:2\\n$`));

      const failed = run(proxy.ensure(spec(`${tmp}/failed`), 'hello-staging'), {
        env: { FAKE_RUN_EXIT: '125' },
      });
      expect(failed.code).toBe(1);
      expect(failed.stdout).not.toMatch(/^proxy /m);

      // A container of the name that appeared meanwhile without our label is not taken either.
      const foreign = run(proxy.ensure(spec(`${tmp}/foreign`), 'hello-staging'), {
        env: { FAKE_RUN_EXIT: '125', FAKE_INSPECT_AFTER_RUN: 'running||nginx:1' },
      });
      expect(foreign.code).toBe(1);
      expect(foreign.stdout).not.toMatch(/^proxy /m);
    });

    it('carries values with quotes, spaces and substitutions as they are', () => {
      const dir = `${tmp}/d $(touch ${tmp}/pwned-d) 'q"`;
      const evil = { container: `c'$(touch ${tmp}/pwned-c)`, image: `i"\`touch ${tmp}/pwned-i\``, dir };
      // (Run in tmp: a substitution that ran would leave pwned-s there.)
      const name = `s $(touch pwned-s) 'q"`;
      mkdirSync(`${dir}/live`, { recursive: true });
      writeFileSync(`${dir}/live/${name}.green`, '');
      const result = run(proxy.ensure(evil, name));
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('\nlive green\n');
      expect(readdirSync(tmp).filter((entry) => entry.startsWith('pwned'))).toEqual([]);
      expect(readFileSync(`${dir}/Caddyfile`, 'utf8')).toBe(proxyCaddyfile(dir));
      expect(calls()[1]).toContain(`[--name][${evil.container}]`);
      expect(calls()[1]).toContain(`[${evil.image}][caddy][run]`);
    });

    it('refuses a same-named running container deployer did not start, naming proxy-container', () => {
      const result = run(proxy.ensure(spec(proxyDir), 'hello-staging'), {
        env: { FAKE_INSPECT: 'running||nginx:1' },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `a container named deployer-proxy exists, but deployer did not start it (it has no ${PROXY_DIR_LABEL} label): give proxy-container another name`,
      );
      expect(result.stdout).not.toMatch(/^proxy /m);
      expect(calls()).toEqual([INSPECT]);
    });

    it('never starts a same-named stopped container deployer did not start', () => {
      const result = run(proxy.ensure(spec(proxyDir), 'hello-staging'), {
        env: { FAKE_INSPECT: 'exited||nginx:1' },
      });
      expect(result.code).toBe(1);
      expect(calls()).toEqual([INSPECT]);
      expect(result.stderr).toContain('give proxy-container another name');
    });

    describe('free slot ports', () => {
      // A running proxy whose folder is proxyDir, whatever the inputs say.
      const ensure = (name: string) =>
        run(proxy.ensure(spec(`${tmp}/elsewhere`), name), {
          env: { FAKE_INSPECT: `running|${proxyDir}|caddy:2` },
        });
      const otherSite = (file: string, slots: SlotPorts) => {
        mkdirSync(`${proxyDir}/sites`, { recursive: true });
        writeFileSync(
          `${proxyDir}/sites/${file}`,
          proxySiteFile({ address: ':8081', dir: proxyDir, name: file, slots, note: 'deployer: other' }),
        );
      };

      it('start where the site’s name says (POSIX cksum), the same for the same name', () => {
        for (const name of ['hello-staging', 'hello-prod', 'a', `we ird'"`]) {
          const cli = spawnSync('sh', ['-c', 'printf %s "$1" | cksum', 'sh', name], { encoding: 'utf8' });
          expect(Number(cli.stdout.split(' ')[0]), name).toBe(cksum(name));
        }
        const first = freeOf(ensure('hello-staging').stdout);
        expectSlotPorts(first);
        expect(first).toEqual(expectedFree('hello-staging', []));
        expect(freeOf(ensure('hello-staging').stdout)).toEqual(first);
        expect(freeOf(ensure('hello-prod').stdout)).toEqual(expectedFree('hello-prod', []));
      });

      it('skip the ports another site file’s deployer-slots line takes', () => {
        const first = freeOf(ensure('hello-staging').stdout)!;
        expectSlotPorts(first);
        // Another environment took those ports (this site's own file was removed, say).
        otherSite('other-prod.caddy', { blue: first[0], green: first[1] });
        const second = freeOf(ensure('hello-staging').stdout)!;
        expectSlotPorts(second);
        expect(second).not.toContain(first[0]);
        expect(second).not.toContain(first[1]);
        expect(second).toEqual(expectedFree('hello-staging', [...first]));

        // Every site file counts, whichever slot holds the port; files the import skips do not.
        otherSite('third.caddy', { blue: second[1], green: second[0] });
        writeFileSync(`${proxyDir}/sites/hello-staging.caddy.prev`, '# deployer-slots blue=1 green=2\n');
        const third = freeOf(ensure('hello-staging').stdout)!;
        expect(third).toEqual(expectedFree('hello-staging', [...first, ...second]));
        expect([...first, ...second]).not.toContain(third[0]);
        expect([...first, ...second]).not.toContain(third[1]);
      });

      it('skip ports something listens on (IPv4 and IPv6)', async () => {
        const [blue, green] = freeOf(ensure('hello-staging').stdout)!;
        const v4 = await listen(blue, '127.0.0.1');
        const v6 = await listen(green, '::1');
        try {
          expect(v4, `could not listen on 127.0.0.1:${blue}`).toBeDefined();
          const busy = freeOf(ensure('hello-staging').stdout)!;
          expectSlotPorts(busy);
          expect(busy).not.toContain(blue);
          if (v6) expect(busy).not.toContain(green);
          expect(busy).toEqual(expectedFree('hello-staging', []));
        } finally {
          await close(v4);
          await close(v6);
        }
      });

      it('wrap around from 29999 to 20000', () => {
        let name = '';
        for (let i = 0; !name; i++) if (startPort(`wrap-${i}`) === 29999) name = `wrap-${i}`;
        const wrapped = freeOf(ensure(name).stdout)!;
        expectSlotPorts(wrapped);
        expect(wrapped).toEqual(expectedFree(name, []));
        otherSite('other.caddy', { blue: 29999, green: 20000 });
        const past = freeOf(ensure(name).stdout)!;
        expect(past).not.toContain(29999);
        expect(past).not.toContain(20000);
        expect(past).toEqual(expectedFree(name, [29999, 20000]));
      });

      it('are not looked for when the site has its file', () => {
        given(site(21001), 'blue');
        expect(ensure('hello-staging').stdout).not.toMatch(/^free/m);
        expect(ensure('hello-prod').stdout).toMatch(/^free \d+ \d+$/m);
      });

      // BUG? (actions/engine/commands/proxy.ts, proxy.ensure → show_site, line 183; read by
      // deploy/blue-green.ts prepare, lines 86-92): `free` is printed only when the site file is
      // absent. A site file written by the single-upstream format of bd06c65 (no deployer-slots
      // line) exists, so ensure prints no `free` line, parseSiteSlots finds nothing, and every
      // blue-green deploy of that environment fails with "no free loopback ports for …'s blue and
      // green slots" until the file is removed by hand. Expected: free ports for a site file without
      // a deployer-slots line too (it is rewritten with slots at the next cut-over, which reloads).
      it('are offered for a site file written before slots (no deployer-slots line)', () => {
        given(
          '# deployer: staging (hello-staging), release r1\nhttp://:80 {\n\treverse_proxy 127.0.0.1:49153 {\n\t\tlb_try_duration 5s\n\t\tlb_try_interval 100ms\n\t}\n}\n',
          'blue',
        );
        expectSlotPorts(freeOf(ensure('hello-staging').stdout));
      });
    });
  });

  describe('host.launchApp', () => {
    const runArgv = compose.runApp(v2, 'app', {
      name: 'hello-staging-app-r1',
      port: 8080,
      hostPort: 21001,
      labels: { 'deployer.release': 'r1' },
    });
    let releaseDir: string;
    beforeAll(() => {
      releaseDir = `${tmp}/release r1`;
      mkdirSync(releaseDir);
    });
    const launch = (restart: string) =>
      host.launchApp(fenced(), runArgv, { name: 'hello-staging-app-r1', restart, port: 8080 }, releaseDir);

    it('runs the container in the release folder, gives it the restart policy, prints its port', () => {
      const result = run(launch('unless-stopped'), { env: { FAKE_PORT: '127.0.0.1:21001' } });
      expect(result).toMatchObject({ code: 0, stdout: 'port 127.0.0.1:21001\n' });
      expect(readFileSync(`${log}.cwd`, 'utf8').trim()).toBe(releaseDir);
      expect(calls()).toEqual([
        `[docker]${runArgv
          .slice(1)
          .map((arg) => `[${arg}]`)
          .join('')}`,
        '[docker][update][--restart][unless-stopped][hello-staging-app-r1]',
        '[docker][port][hello-staging-app-r1][8080/tcp]',
      ]);
      expect(calls()[0]).toContain('[--publish][127.0.0.1:21001:8080]');
    });

    it('sets no restart policy for none or "no"', () => {
      for (const restart of ['', 'no']) {
        log = `${tmp}/calls.${++count}`;
        const result = run(launch(restart), { env: { FAKE_PORT: '127.0.0.1:21001\n[::1]:21001' } });
        expect(result, restart).toMatchObject({ code: 0, stdout: 'port 127.0.0.1:21001\n' });
        expect(
          calls().some((call) => call.startsWith('[docker][update]')),
          restart,
        ).toBe(false);
      }
    });

    it('fails without a policy or a port when the container does not start', () => {
      const result = run(launch('always'), { env: { FAKE_COMPOSE_EXIT: '1' } });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(calls()).toHaveLength(1);
    });

    it('starts nothing when the deploy lock is not ours any more', () => {
      theirs();
      const result = run(launch('always'));
      expect(result.code).toBe(EXIT.leaseLost);
      expect(calls()).toEqual([]);
    });
  });

  describe('host.retire', () => {
    it('stops (with the drain time), removes, and checks the containers are gone', () => {
      const result = run(host.retire(30, ['aaa', 'bbb']));
      expect(result).toMatchObject({ code: 0, stdout: 'retired\n' });
      expect(calls()).toEqual([
        '[docker][stop][--time][30][aaa][bbb]',
        '[docker][rm][--force][aaa][bbb]',
        '[docker][ps][--all][--quiet][--no-trunc][--filter][id=aaa][--filter][id=bbb]',
      ]);
    });

    it('removes them even when the stop fails, and says which are still there', () => {
      const result = run(host.retire(5, ['aaa']), { env: { FAKE_STOP_EXIT: '1', FAKE_PS: 'aaa' } });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('still there: aaa\n');
      expect(calls()).toEqual([
        '[docker][stop][--time][5][aaa]',
        '[docker][rm][--force][aaa]',
        '[docker][ps][--all][--quiet][--no-trunc][--filter][id=aaa]',
      ]);
    });
  });
});
