import * as core from '@actions/core';
import { actionInputs } from '../edge/actions-reporter.js';
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

async function act(): Promise<void> {
  const own = readInputs(
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
    },
    actionInputs,
  );
  const target = readSshTarget('', actionInputs);
  if (!target) throw new InputError('host', 'is required: the SSH host to deploy to');
  const run = githubRun();
  const settings = readDeploySettings(actionInputs, run.workspace);
  const appImage = checkImageReference('app-image', own['app-image'], own['allow-mutable-tags']);
  const migratorImage = checkImageReference(
    'migrator-image',
    own['migrator-image'],
    own['allow-mutable-tags'],
  );
  const sha = own.sha ?? run.sha;
  if (!/^[0-9a-f]{7,40}$/.test(sha))
    throw new InputError('sha', 'is required outside GitHub Actions (GITHUB_SHA is not set)');

  await deployStep({
    target: { ...target, keepaliveMs: settings['ssh-keepalive'] },
    title: `Deploy to ${own.environment}`,
    environment: own.environment,
    sha,
    url: environmentUrl(own.url, settings),
    logFormat: settings['log-format'],
    notifyUrl: settings['notify-url'],
    notifySecret: settings['notify-secret'],
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

/** The action: reads inputs, runs the engine, sets outputs and the summary; a failure fails the step. */
export async function run(): Promise<void> {
  try {
    await act();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
