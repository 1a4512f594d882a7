// What the benchmarks that time whole action processes share: the example's release images, and one
// `node24 <action>/dist/index.js` process spawned the way a GitHub runner spawns it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse as parseYaml } from 'yaml';

/** The inputs `<src>/<action>/action.yml` declares with a default: `[name, value]` pairs, as a runner passes them. */
export function actionDefaults(src, action) {
  return Object.entries(parseYaml(readFileSync(join(src, action, 'action.yml'), 'utf8')).inputs ?? {})
    .filter(([, spec]) => spec.default !== undefined)
    .map(([name, spec]) => [name, String(spec.default)]);
}

/** The outputs an action wrote to GITHUB_OUTPUT (`name<<delimiter` blocks, as @actions/core writes them). */
export function parseOutputs(text) {
  const outputs = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!match) continue;
    const value = [];
    for (i++; i < lines.length && lines[i] !== match[2]; i++) value.push(lines[i]);
    outputs[match[1]] = value.join('\n');
  }
  return outputs;
}

/**
 * Spawns `node24 <src>/<action>/dist/index.js` with a runner's environment: its files in a new folder
 * of `work`, `inputs` as INPUT_* over `defaults`, `env` on top (e.g. GITHUB_SHA, step secrets).
 * `onLine(line, at)` sees each stdout line as it arrives; `at` is in ms since `origin` (a
 * performance.now() value). `children` holds the process while it runs (to stop it on a signal).
 * Resolves with the exit code, `startedAt`/`endedAt` (since `origin`), the timed lines, stderr, the
 * outputs and the step summary.
 */
export function spawnAction({
  node24,
  src,
  action,
  work,
  workspace,
  defaults,
  inputs,
  env: extra = {},
  origin = performance.now(),
  onLine = () => {},
  onSpawn = () => {},
  children,
}) {
  const dir = mkdtempSync(join(work, `${action}-`));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
  };
  for (const [name, file] of Object.entries(files))
    writeFileSync(file, name === 'GITHUB_EVENT_PATH' ? '{}' : '');
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    ...files,
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY: 'acme/hello',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '1',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'bench',
    GITHUB_WORKFLOW: 'bench',
    GITHUB_JOB: 'bench',
    GITHUB_WORKSPACE: workspace ?? dir,
    RUNNER_TEMP: join(dir, 'runner-temp'),
    RUNNER_TOOL_CACHE: join(dir, 'tool-cache'),
    ...extra,
  };
  for (const [name, value] of [...defaults, ...Object.entries(inputs)])
    env[`INPUT_${name.toUpperCase()}`] = value;
  const startedAt = performance.now() - origin;
  const child = spawn(node24, [join(src, action, 'dist/index.js')], {
    cwd: workspace ?? dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = timedExit(child, { origin, children, onLine });
  onSpawn(child);
  return exited.then((run) => {
    const outputs = parseOutputs(readFileSync(files.GITHUB_OUTPUT, 'utf8'));
    const summary = readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    return { ...run, startedAt, outputs, summary };
  });
}

/**
 * Follows a spawned process to its exit: its stdout lines, each with the time it arrived (ms since
 * `origin`, also passed to `onLine`), and its stderr. `children` holds it while it runs. Resolves with
 * the exit code, `endedAt`, the lines and stderr.
 */
export function timedExit(child, { origin, children, onLine = () => {} }) {
  children?.add(child);
  return new Promise((done, fail) => {
    const lines = [];
    let partial = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      const at = performance.now() - origin;
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      for (const line of parts) {
        lines.push({ at, line });
        onLine(line, at);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => {
      children?.delete(child);
      const endedAt = performance.now() - origin;
      if (partial) lines.push({ at: endedAt, line: partial });
      done({ code, endedAt, lines, stderr });
    });
  });
}

/**
 * Builds examples/hello's app (`runner`) and `migrator` offline on the sandbox's base image, pushes each
 * under `tags(suffix)` (suffix `hello` or `hello-migrator`), and returns their digests. With `pull`, the
 * engine then pulls each by digest from its first tag's repository (so no timed deploy pulls).
 */
export function buildExampleImages(sb, { src, work, sha, tags, buildArgs = [], pull = false }) {
  const config = mkdtempSync(join(work, 'docker-'));
  const env = { ...process.env, DOCKER_CONFIG: config };
  try {
    execFileSync('docker', ['login', sb.registry, '-u', sb.registryUsername, '--password-stdin'], {
      input: sb.registryPassword,
      env,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const digests = {};
    for (const [target, suffix] of [
      ['runner', 'hello'],
      ['migrator', 'hello-migrator'],
    ]) {
      const metadata = join(config, `${target}.json`);
      execFileSync(
        'docker',
        [
          'buildx',
          'build',
          join(src, 'examples/hello'),
          '--quiet',
          '--push',
          '--target',
          target,
          '--build-arg',
          `BASE_IMAGE=${sb.baseImage}`,
          '--build-arg',
          `GIT_SHA=${sha}`,
          ...buildArgs,
          ...tags(suffix).flatMap((tag) => ['--tag', tag]),
          '--metadata-file',
          metadata,
        ],
        { env, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      digests[target] = JSON.parse(readFileSync(metadata, 'utf8'))['containerimage.digest'];
      if (!/^sha256:[0-9a-f]{64}$/.test(digests[target])) throw new Error(`no digest for ${target}`);
      if (pull)
        execFileSync(
          'docker',
          ['pull', '--quiet', `${tags(suffix)[0].replace(/:[^:/]+$/, '')}@${digests[target]}`],
          {
            env,
            stdio: ['ignore', 'ignore', 'inherit'],
          },
        );
    }
    return digests;
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}

/** A random 40-hex commit id for a release built only for a benchmark. */
export function randomSha() {
  return Array.from({ length: 40 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
}

/**
 * What a benchmark runs: the working tree, or with `commit` those `paths` of that commit, taken out with
 * git archive into `work/tree` (immune to a rebuild of dist/ in the working tree meanwhile; not taken
 * out without `extract`, e.g. when a report is only written again). `dirty`: the working tree's `paths`
 * differ from HEAD.
 */
export function benchSource({ root, commit: asked, paths, work, extract = true }) {
  const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', asked ?? 'HEAD'], {
    encoding: 'utf8',
  }).trim();
  const dirty =
    !asked &&
    execFileSync('git', ['-C', root, 'status', '--porcelain', '--', ...paths], {
      encoding: 'utf8',
    }).trim() !== '';
  if (!asked || !extract) return { commit, dirty, src: root };
  const src = join(work, 'tree');
  mkdirSync(src);
  const archive = execFileSync('git', ['-C', root, 'archive', commit, ...paths], {
    maxBuffer: 256 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', src], { input: archive });
  return { commit, dirty, src };
}
