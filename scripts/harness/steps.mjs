// Running one step: a JavaScript action from its dist/ bundle, a `run:` script with bash, or a local
// stand-in for a well-known third-party action (actions/checkout, github/codeql-action/upload-sarif).
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { parse } from 'yaml';
import { asString, interpolate } from './expressions.mjs';
import { permits, postToRepository } from './github-api.mjs';

const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };

/** Spawns a process with a deadline; resolves with its exit code and output (never rejects on exit code). */
export function spawnStep(command, args, { cwd, env, deadline, onOutput }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const remaining = deadline - Date.now();
    const timer = setTimeout(
      () => {
        timedOut = true;
        // The step's whole process group, like the runner cancelling a step.
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        setTimeout(() => {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }, 5000).unref();
      },
      Math.max(remaining, 0),
    );
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      onOutput?.(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
      onOutput?.(chunk);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 1, signal, stdout, stderr, timedOut });
    });
  });
}

/** `uses: ./path` in the workspace: a node20/node24 action run from its `runs.main` bundle with INPUT_*. */
export async function runLocalAction({
  uses,
  workspace,
  inputs,
  env,
  contexts,
  nodePath,
  deadline,
  onOutput,
}) {
  const dir = resolve(workspace, uses);
  if (relative(workspace, dir).startsWith('..')) throw new Error(`${uses} points outside the workspace`);
  const metadataFile = ['action.yml', 'action.yaml']
    .map((name) => join(dir, name))
    .find((file) => existsSync(file));
  if (!metadataFile) throw new Error(`Can't find 'action.yml' or 'action.yaml' under '${dir}' (${uses})`);
  const metadata = parse(readFileSync(metadataFile, 'utf8'));
  const using = metadata.runs?.using;
  if (!/^node(20|24)$/.test(using ?? ''))
    throw new Error(
      `${uses}: runs.using ${JSON.stringify(using)} is not supported by the harness (node20/node24 only)`,
    );
  if (metadata.runs.pre || metadata.runs.post)
    throw new Error(`${uses}: pre/post scripts are not supported by the harness`);
  const declared = metadata.inputs ?? {};
  const unknown = Object.keys(inputs).filter((name) => !(name in declared));
  if (unknown.length)
    throw new Error(`${uses}: unexpected input(s) ${unknown.join(', ')} (not in its action.yml)`);
  const inputEnv = {};
  for (const [name, spec] of Object.entries(declared)) {
    const value =
      name in inputs
        ? inputs[name]
        : spec?.default === undefined
          ? undefined
          : asString(interpolate(String(spec.default), contexts));
    if (value !== undefined) inputEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  const entry = join(dir, metadata.runs.main);
  if (!existsSync(entry))
    throw new Error(`${uses}: ${metadata.runs.main} is missing (build the action: npm run build)`);
  return spawnStep(nodePath, [entry], { cwd: workspace, env: { ...env, ...inputEnv }, deadline, onOutput });
}

/** `run:` with bash, as the runner's default shell: `bash --noprofile --norc -eo pipefail <file>`. */
export async function runScript({
  script,
  shell,
  workingDirectory,
  workspace,
  tempDir,
  env,
  deadline,
  onOutput,
}) {
  if (shell !== undefined && shell !== 'bash')
    throw new Error(`shell ${JSON.stringify(shell)} is not supported by the harness (bash only)`);
  const file = join(tempDir, `script-${Date.now()}-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(file, script);
  const cwd = workingDirectory ? resolve(workspace, workingDirectory) : workspace;
  return spawnStep('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
    cwd,
    env,
    deadline,
    onOutput,
  });
}

function git(args, cwd) {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

function emptyDirectory(dir) {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/**
 * Deployer's actions (action.yml + dist/) as they are in the working tree when a harness first checks
 * deployer out: that copy stands for `job.workflow_sha` for the harness's whole life, as a commit would.
 */
function deployerSnapshot(world) {
  if (world.deployerSnapshot) return world.deployerSnapshot;
  const dir = join(world.workDir, 'deployer-snapshot');
  emptyDirectory(dir);
  const root = world.deployer.root;
  const actions = readdirSync(root).filter((name) => existsSync(join(root, name, 'action.yml')));
  for (const action of actions) {
    mkdirSync(join(dir, action), { recursive: true });
    cpSync(join(root, action, 'action.yml'), join(dir, action, 'action.yml'));
    const dist = join(root, action, 'dist');
    if (existsSync(dist) && statSync(dist).isDirectory())
      cpSync(dist, join(dir, action, 'dist'), { recursive: true });
  }
  world.deployerSnapshot = { dir, actions };
  return world.deployerSnapshot;
}

/**
 * Stand-in for actions/checkout:
 *  - the job's own workflow repository (deployer) at `job.workflow_sha`: its actions (action.yml + dist/)
 *    from a snapshot of the working tree the harness runs from, which stands for that commit; any other
 *    ref of it is refused, so a workflow that would run another version of deployer fails here;
 *  - a repository the harness knows (a local git repository standing for the GitHub one): fetched over
 *    file:// at `ref` (default github.sha) with `fetch-depth` (default 1, 0 = all history), detached.
 */
export function checkout({ inputs, workspace, world, github, job }) {
  const repository = inputs.repository || github.repository;
  const path = inputs.path || '.';
  const target = resolve(workspace, path);
  if (isAbsolute(path) || relative(workspace, target).startsWith('..'))
    throw new Error(`actions/checkout: path ${JSON.stringify(path)} is not under the workspace`);
  if (repository === world.deployer.repository && repository !== github.repository) {
    if (inputs.ref !== job.workflow_sha)
      throw new Error(
        `actions/checkout of ${repository} at ${JSON.stringify(inputs.ref ?? '')}: the harness only has the commit this workflow runs from (${job.workflow_sha})`,
      );
    const snapshot = deployerSnapshot(world);
    emptyDirectory(target);
    cpSync(snapshot.dir, target, { recursive: true });
    const actions = snapshot.actions;
    return `${repository}@${inputs.ref} (deployer working tree: ${actions.join(', ')}) -> ${path}`;
  }
  const source = world.repositories[repository];
  if (!source)
    throw new Error(`actions/checkout: the harness has no local repository standing for ${repository}`);
  const ref = inputs.ref || github.sha;
  const depth =
    inputs['fetch-depth'] === undefined || inputs['fetch-depth'] === '' ? 1 : Number(inputs['fetch-depth']);
  if (!Number.isInteger(depth) || depth < 0)
    throw new Error(`actions/checkout: fetch-depth ${inputs['fetch-depth']} is not a number`);
  emptyDirectory(target);
  git(['init', '--quiet', target]);
  git(['remote', 'add', 'origin', `file://${source}`], target);
  git(['fetch', '--quiet', '--no-tags', ...(depth ? [`--depth=${depth}`] : []), 'origin', ref], target);
  git(['checkout', '--quiet', '--detach', 'FETCH_HEAD'], target);
  if (depth === 0)
    git(['fetch', '--quiet', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*'], target);
  return `${repository}@${git(['rev-parse', 'HEAD'], target)} (depth ${depth || 'all'}) -> ${path}`;
}

/** Stand-in for github/codeql-action/upload-sarif: the report must exist and be SARIF; nothing is uploaded. */
export function uploadSarif({ inputs, workspace }) {
  const file = resolve(workspace, inputs.sarif_file ?? '');
  if (!inputs.sarif_file || !existsSync(file))
    throw new Error(`upload-sarif: no SARIF file at ${JSON.stringify(inputs.sarif_file ?? '')}`);
  const sarif = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(sarif.runs)) throw new Error(`upload-sarif: ${file} has no "runs" list`);
  const results = sarif.runs.reduce((sum, run) => sum + (run.results?.length ?? 0), 0);
  return `SARIF ${relative(workspace, file)}: ${sarif.runs.length} run(s), ${results} result(s), category ${inputs.category || '(none)'}; not uploaded (local harness)`;
}

/**
 * Stand-in for actions/attest-build-provenance with subject-name + subject-digest (an image): checks what
 * the real action needs (the job's id-token and attestations permissions, the subject's form), then stores
 * an in-toto statement with a SLSA provenance predicate through the local GitHub API, as the real action
 * does after Sigstore signed it (there is no Sigstore here: the bundle carries no signature).
 */
export async function attestBuildProvenance({ inputs, github, permissions, env }) {
  const problems = [];
  if (!permits(permissions, 'id-token', 'write'))
    problems.push('the job lacks `id-token: write` (no OIDC token to sign with)');
  if (!permits(permissions, 'attestations', 'write')) problems.push('the job lacks `attestations: write`');
  if (inputs['subject-path'] || inputs['subject-checksums'])
    problems.push('the harness models subject-name + subject-digest only');
  const name = inputs['subject-name'] ?? '';
  const digest = inputs['subject-digest'] ?? '';
  if (!/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/.test(name))
    problems.push(`subject-name ${JSON.stringify(name)} is not an image name without tag or digest`);
  if (!/^sha256:[0-9a-f]{64}$/.test(digest))
    problems.push(`subject-digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  if (String(inputs['push-to-registry'] ?? 'false') !== 'false')
    problems.push('push-to-registry is not modelled by the harness');
  if (problems.length > 0) throw new Error(`attest-build-provenance: ${problems.join('; ')}`);
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name, digest: { sha256: digest.slice('sha256:'.length) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: {
          workflow: { ref: github.ref, repository: `${github.server_url}/${github.repository}` },
        },
        resolvedDependencies: [
          {
            uri: `git+${github.server_url}/${github.repository}@${github.ref}`,
            digest: { gitCommit: github.sha },
          },
        ],
      },
      runDetails: {
        builder: { id: `${github.server_url}/${github.workflow_ref}` },
        metadata: {
          invocationId: `${github.server_url}/${github.repository}/actions/runs/${github.run_id}/attempts/${github.run_attempt}`,
        },
      },
    },
  };
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {},
    dsseEnvelope: {
      payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
      payloadType: 'application/vnd.in-toto+json',
      signatures: [],
    },
  };
  const { status, body: answer } = await postToRepository(
    github.api_url,
    inputs['github-token'] || github.token,
    github.repository,
    '/attestations',
    { bundle },
  );
  if (status !== 201) throw new Error(`attest-build-provenance: GitHub answered ${status} ${answer.message}`);
  const url = `${github.server_url}/${github.repository}/attestations/${answer.id}`;
  const bundlePath = join(env.RUNNER_TEMP, `attestation-${answer.id}.json`);
  writeFileSync(bundlePath, JSON.stringify(bundle));
  writeFileSync(
    env.GITHUB_OUTPUT,
    `bundle-path=${bundlePath}\nattestation-id=${answer.id}\nattestation-url=${url}\n`,
    { flag: 'a' },
  );
  return `attested ${name}@${digest}: ${url}`;
}

/** Third-party actions the harness stands in for, by `owner/repo[/path]` (any pinned ref). */
export const STAND_INS = {
  'actions/checkout': checkout,
  'actions/attest-build-provenance': attestBuildProvenance,
  'github/codeql-action/upload-sarif': uploadSarif,
};
