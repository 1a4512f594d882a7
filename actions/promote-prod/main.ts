import * as core from '@actions/core';
import { actionInputs } from '../edge/actions-reporter.js';
import { githubDeploymentGate, githubRecording } from '../edge/github-recording.js';
import { deployStep } from '../edge/deploy-step.js';
import { githubRun, runIdentity } from '../engine/github-context.js';
import { input, InputError, readingWith, readInputs } from '../engine/inputs.js';
import { readSshTarget } from '../engine/ssh-inputs.js';
import { environmentUrl, readComposeFile, readDeploySettings } from '../engine/deploy/inputs.js';
import { readSource } from '../engine/promote/source-inputs.js';
import { preparePromotion, prepareRollback } from '../engine/promote/prepare.js';
import { describeEnvironment } from '../engine/config/deploy-config.js';
import { deployRequestFrom } from '../engine/deploy/inputs.js';
import { environmentPlan, loadDeployConfig } from '../engine/fleet/config-file.js';
import { composeFiles, resolveTargets, rolloutMembers } from '../engine/fleet/members.js';
import { verifyFleetSource } from '../engine/fleet/promote.js';
import { fleetStep } from '../edge/fleet-step.js';

const ENVIRONMENT = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const RELEASE = /^(?:[0-9a-f]{7,40}|\d{8}T\d{6}Z-[0-9a-f]{7})$/;

function readOwnInputs() {
  return readInputs(
    {
      mode: input.oneOf(['promote', 'rollback'], 'promote'),
      sha: input.matching(
        RELEASE,
        'a commit sha (7-40 hex) or a release id such as 20261123T090512Z-abc1234',
        undefined,
      ),
      'rollback-to': input.matching(RELEASE, 'a release id or commit sha from production history', undefined),
      environment: input.matching(
        ENVIRONMENT,
        'a lower-case environment name such as production',
        'production',
      ),
      'promote-from': input.matching(ENVIRONMENT, 'the source environment name such as staging', 'staging'),
      'source-deploy-path': input.matching(
        /^\/[A-Za-z0-9._/-]*$/,
        'an absolute path on the source host',
        undefined,
      ),
      'source-app-service': input.optional(),
      'require-github-deployment': input.boolean(false),
      'run-migrations': input.optional(),
      url: input.optional(),
      'config-file': input.optional(),
      'max-parallel': input.integer(0, 1, 1000),
    },
    actionInputs,
  );
}

type OwnInputs = ReturnType<typeof readOwnInputs>;

function runMigrationsInput(own: OwnInputs): boolean {
  return own['run-migrations'] === undefined
    ? own.mode === 'promote'
    : readInputs({ 'run-migrations': input.boolean(true) }, actionInputs)['run-migrations'];
}

async function act(): Promise<void> {
  const own = readOwnInputs();
  if (own['config-file']) return promoteFleet(own);
  const target = readSshTarget('', actionInputs);
  if (!target) throw new InputError('host', 'is required: the production SSH host');
  const run = githubRun();
  const settings = readDeploySettings(actionInputs, run.workspace);
  const runMigrations = runMigrationsInput(own);
  const report = {
    target: { ...target, keepaliveMs: settings['ssh-keepalive'] },
    environment: own.environment,
    url: environmentUrl(own.url, settings),
    logFormat: settings['log-format'],
    notifyUrl: settings['notify-url'],
    notifySecret: settings['notify-secret'],
    github: githubRecording(true, run.runUrl),
  };

  if (own.mode === 'rollback') {
    await deployStep({
      ...report,
      title: `Roll back ${own.environment}`,
      request: prepareRollback(settings, {
        environment: own.environment,
        to: own['rollback-to'] ?? own.sha,
        runMigrations,
        run: runIdentity(run),
      }),
    });
    return;
  }

  const requested = own.sha;
  if (!requested)
    throw new InputError('sha', 'is required in promote mode: the commit (or release id) that staging runs');
  await deployStep({
    ...report,
    title: `Promote ${own['promote-from']} → ${own.environment}`,
    sha: requested,
    request: preparePromotion(settings, {
      requested,
      environment: own.environment,
      source: readSource(own, settings, actionInputs),
      // The source's own connection; its key defaults to production's.
      sourceTarget: readSshTarget(
        'source-',
        readingWith(
          actionInputs,
          (name) =>
            actionInputs.read(name) || (name === 'source-ssh-key' ? actionInputs.read('ssh-key') : ''),
        ),
      ),
      composeFileContent: readComposeFile(settings, runMigrations),
      runMigrations,
      run: runIdentity(run),
      ...(own['require-github-deployment']
        ? { githubGate: githubDeploymentGate(own['promote-from'], own.environment) }
        : {}),
      onVerified: (release) => core.setOutput('source-release', release.id),
    }),
  });
}

/** With a deploy config: every host of the environment, in batches, after a gate on every source host. */
async function promoteFleet(own: OwnInputs): Promise<void> {
  const run = githubRun();
  const runMigrations = runMigrationsInput(own);
  const config = loadDeployConfig(own['config-file']!, run.workspace);
  const plan = environmentPlan(config, own.environment);
  const resolved = resolveTargets(plan, actionInputs, run.workspace, runMigrations);
  const first = resolved[0]!.settings;
  const step = {
    maxParallel: own['max-parallel'] || plan.maxParallel,
    configText: describeEnvironment(plan),
    url: environmentUrl(own.url, first),
    notifyUrl: first['notify-url'],
    notifySecret: first['notify-secret'],
    github: githubRecording(true, run.runUrl),
  };
  const session = { environment: own.environment };

  if (own.mode === 'rollback') {
    const to = own['rollback-to'] ?? own.sha;
    await fleetStep({
      ...step,
      title: `Roll back ${own.environment} (${resolved.length} hosts)`,
      members: rolloutMembers(resolved, actionInputs, session, (host) =>
        prepareRollback(host.settings, {
          environment: own.environment,
          to,
          runMigrations: host.migrates,
          run: runIdentity(run),
        }),
      ),
    });
    return;
  }

  const requested = own.sha;
  if (!requested)
    throw new InputError('sha', 'is required in promote mode: the commit (or release id) that staging runs');
  const from = own['promote-from'];
  // The step's inputs describe production: of them, the source hosts take only the key.
  const sourceInputs = readingWith(actionInputs, (name) =>
    name === 'ssh-key' ? actionInputs.read('source-ssh-key') || actionInputs.read('ssh-key') : '',
  );
  const sourceHosts = resolveTargets(environmentPlan(config, from), sourceInputs, run.workspace, false);
  // Checked before the gate connects anywhere.
  const composeFile = composeFiles(resolved, actionInputs);
  const release = await verifyFleetSource(sourceHosts, from, requested, own.environment);
  core.info(`Gate: every ${from} host runs ${release.sha} with the same digests and answers ready`);
  if (own['require-github-deployment']) {
    await githubDeploymentGate(from, own.environment)(release.sha);
    core.info(`Gate: GitHub records a successful deployment of ${release.sha} in ${from}`);
  }
  core.setOutput('source-release', release.id);
  const members = rolloutMembers(resolved, actionInputs, { ...session, sha: release.sha }, (host) =>
    deployRequestFrom(
      host.settings,
      own.environment,
      {
        kind: 'promote',
        appImage: release.appImage,
        migratorImage: release.migratorImage,
        sha: release.sha,
        runMigrations: host.migrates,
        composeFileContent: composeFile.get(host),
        promotedFrom: { environment: from, releaseId: release.id, host: release.host },
      },
      runIdentity(run),
    ),
  );
  await fleetStep({
    ...step,
    title: `Promote ${from} → ${own.environment} (${resolved.length} hosts)`,
    members,
  });
}

/** The action: reads inputs, runs the engine, sets outputs and the summary; a failure fails the step. */
export async function run(): Promise<void> {
  try {
    await act();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
