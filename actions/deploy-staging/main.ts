import * as core from '@actions/core';
import { actionInputs } from '../edge/actions-reporter.js';
import { githubRecording } from '../edge/github-recording.js';
import { deployStep } from '../edge/deploy-step.js';
import { input, InputError, readInputs } from '../engine/inputs.js';
import { readSshTarget } from '../engine/ssh-inputs.js';
import {
  checkImageReference,
  deployRequestFrom,
  environmentUrl,
  readComposeFile,
  readDeploySettings,
} from '../engine/deploy/inputs.js';
import { githubRun, runIdentity } from '../engine/github-context.js';
import { describeEnvironment } from '../engine/config/deploy-config.js';
import { environmentPlan, loadDeployConfig } from '../engine/fleet/config-file.js';
import { composeFiles, resolveTargets, rolloutMembers } from '../engine/fleet/members.js';
import { fleetStep } from '../edge/fleet-step.js';

function readOwnInputs() {
  return readInputs(
    {
      environment: input.matching(
        /^[a-z0-9][a-z0-9_-]{0,31}$/,
        'a lower-case environment name such as staging',
        'staging',
      ),
      'app-image': input.optional(),
      'migrator-image': input.optional(),
      'allow-mutable-tags': input.boolean(false),
      sha: input.matching(/^[0-9a-f]{7,40}$/, 'a commit sha (hex)', undefined),
      'run-migrations': input.boolean(true),
      url: input.optional(),
      'config-file': input.optional(),
      'max-parallel': input.integer(0, 1, 1000),
    },
    actionInputs,
  );
}

async function act(): Promise<void> {
  const own = readOwnInputs();
  if (own['config-file']) return deployFleet(own);
  const target = readSshTarget('', actionInputs);
  if (!target) throw new InputError('host', 'is required: the SSH host to deploy to');
  const run = githubRun();
  const settings = readDeploySettings(actionInputs, run.workspace);
  const { appImage, migratorImage, sha } = releaseInputs(own, run.sha);

  await deployStep({
    target: { ...target, keepaliveMs: settings['ssh-keepalive'] },
    title: `Deploy to ${own.environment}`,
    environment: own.environment,
    sha,
    url: environmentUrl(own.url, settings),
    logFormat: settings['log-format'],
    notifyUrl: settings['notify-url'],
    notifySecret: settings['notify-secret'],
    github: githubRecording(false, run.runUrl),
    request: deployRequestFrom(
      settings,
      own.environment,
      {
        kind: 'deploy',
        appImage,
        migratorImage,
        sha,
        runMigrations: own['run-migrations'],
        composeFileContent: readComposeFile(settings, own['run-migrations']),
      },
      runIdentity(run),
    ),
  });
}

type OwnInputs = ReturnType<typeof readOwnInputs>;

function releaseInputs(own: OwnInputs, runSha: string) {
  const appImage = checkImageReference('app-image', own['app-image'], own['allow-mutable-tags']);
  const migratorImage = checkImageReference(
    'migrator-image',
    own['migrator-image'],
    own['allow-mutable-tags'],
  );
  const sha = own.sha ?? runSha;
  if (!/^[0-9a-f]{7,40}$/.test(sha))
    throw new InputError('sha', 'is required outside GitHub Actions (GITHUB_SHA is not set)');
  return { appImage, migratorImage, sha };
}

/** With a deploy config: the release goes to every host of the environment, in batches. */
async function deployFleet(own: OwnInputs): Promise<void> {
  const run = githubRun();
  const { appImage, migratorImage, sha } = releaseInputs(own, run.sha);
  const plan = environmentPlan(loadDeployConfig(own['config-file']!, run.workspace), own.environment);
  const resolved = resolveTargets(plan, actionInputs, run.workspace, own['run-migrations']);
  const composeFile = composeFiles(resolved, actionInputs);
  const members = rolloutMembers(resolved, actionInputs, { environment: own.environment, sha }, (host) =>
    deployRequestFrom(
      host.settings,
      own.environment,
      {
        kind: 'deploy',
        appImage,
        migratorImage,
        sha,
        runMigrations: host.migrates,
        composeFileContent: composeFile.get(host),
      },
      runIdentity(run),
    ),
  );
  const first = resolved[0]!.settings;
  await fleetStep({
    title: `Deploy to ${own.environment} (${members.length} hosts)`,
    members,
    maxParallel: own['max-parallel'] || plan.maxParallel,
    configText: describeEnvironment(plan),
    url: environmentUrl(own.url, first),
    notifyUrl: first['notify-url'],
    notifySecret: first['notify-secret'],
    github: githubRecording(false, run.runUrl),
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
