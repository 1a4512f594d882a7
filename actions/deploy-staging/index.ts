import * as core from '@actions/core';
import { input, readInputs } from '../engine/inputs.js';
import { readSshTarget } from '../engine/ssh-inputs.js';
import {
  checkImageReference,
  defaultProjectName,
  readComposeFile,
  readDeploySettings,
  readinessTargetFor,
  registryFor,
} from '../engine/deploy/inputs.js';
import { deployAndReport } from '../engine/deploy/run.js';
import { githubRun } from '../engine/github-context.js';

async function main(): Promise<void> {
  const own = readInputs({
    environment: input.matching(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a lower-case environment name such as staging', 'staging'),
    'app-image': input.optional(),
    'migrator-image': input.optional(),
    'allow-mutable-tags': input.boolean(false),
    sha: input.matching(/^[0-9a-f]{7,40}$/, 'a commit sha (hex)', undefined),
    'run-migrations': input.boolean(true),
    url: input.optional(),
  });
  const target = readSshTarget('');
  if (!target) throw new Error('Invalid input "host": is required: the SSH host to deploy to');
  const settings = readDeploySettings();
  const appImage = checkImageReference('app-image', own['app-image'], own['allow-mutable-tags']);
  const migratorImage = checkImageReference('migrator-image', own['migrator-image'], own['allow-mutable-tags']);
  const readinessTarget = readinessTargetFor(settings);
  const composeFileContent = readComposeFile(settings);
  const run = githubRun();
  const sha = own.sha ?? run.sha;
  if (!/^[0-9a-f]{7,40}$/.test(sha)) throw new Error('Invalid input "sha": is required outside GitHub Actions (GITHUB_SHA is not set)');

  await deployAndReport({
    target,
    title: `Deploy to ${own.environment}`,
    url: own.url ?? ('url' in readinessTarget ? new URL(readinessTarget.url).origin : undefined),
    logFormat: settings['log-format'],
    notifyUrl: settings['notify-url'],
    notifySecret: settings['notify-secret'],
    request: {
      environment: own.environment,
      kind: 'deploy',
      deployPath: settings.deployPath,
      projectName: settings['project-name'] ?? defaultProjectName(settings.deployPath, own.environment),
      composeFileContent,
      envFileName: settings['env-file'],
      appService: settings['app-service'],
      migratorService: settings['migrator-service'],
      accessories: settings.accessories,
      appImage,
      migratorImage,
      deployEnv: {
        ...(settings['app-host-port'] ? { APP_HOST_PORT: String(settings['app-host-port']) } : {}),
        ...settings['deploy-env'],
      },
      runMigrations: own['run-migrations'],
      pull: true,
      registry: registryFor(settings, appImage),
      readiness: settings.readiness,
      readinessTarget,
      lockTtlMs: settings['lock-ttl'],
      lockWaitMs: settings['lock-timeout'],
      composeCommand: settings['compose-command'],
      sha,
      actor: run.actor,
      runId: run.runId,
      runUrl: run.runUrl,
    },
  });
}

main().catch((error: Error) => core.setFailed(error.message));
