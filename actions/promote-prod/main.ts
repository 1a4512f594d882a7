import * as core from '@actions/core';
import { input, InputError, readInputs } from '../engine/inputs.js';
import { readSshTarget } from '../engine/ssh-inputs.js';
import { environmentUrl, readComposeFile, readDeploySettings } from '../engine/deploy/inputs.js';
import { deployAndReport } from '../engine/deploy/run.js';
import { readReadinessSettings, readinessUrl } from '../engine/readiness/index.js';
import type { ReadinessTarget } from '../engine/deploy/deploy.js';
import type { SourceEnvironment } from '../engine/promote/source.js';
import { preparePromotion, prepareRollback } from '../engine/promote/prepare.js';

const ENVIRONMENT = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const RELEASE = /^(?:[0-9a-f]{7,40}|\d{8}T\d{6}Z-[0-9a-f]{7})$/;

async function act(): Promise<void> {
  const own = readInputs({
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
    'source-ready-url': input.optional(),
    'source-ready-host': input.withDefault('127.0.0.1'),
    'source-ready-port': input.integer(0, 0, 65535),
    'source-ready-path': input.matching(/^\/\S*$/, 'a path starting with /', '/api/ready'),
    'run-migrations': input.optional(),
    url: input.optional(),
  });
  const target = readSshTarget('');
  if (!target) throw new InputError('host', 'is required: the production SSH host');
  const settings = readDeploySettings();
  const runMigrations =
    own['run-migrations'] === undefined
      ? own.mode === 'promote'
      : readInputs({ 'run-migrations': input.boolean(true) })['run-migrations'];
  const report = {
    target: { ...target, keepaliveMs: settings['ssh-keepalive'] },
    environment: own.environment,
    url: environmentUrl(own.url, settings),
    logFormat: settings['log-format'],
    notifyUrl: settings['notify-url'],
    notifySecret: settings['notify-secret'],
  };

  if (own.mode === 'rollback') {
    await deployAndReport({
      ...report,
      title: `Roll back ${own.environment}`,
      request: prepareRollback(settings, {
        environment: own.environment,
        to: own['rollback-to'] ?? own.sha,
        runMigrations,
      }),
    });
    return;
  }

  const requested = own.sha;
  if (!requested)
    throw new InputError('sha', 'is required in promote mode: the commit (or release id) that staging runs');
  await deployAndReport({
    ...report,
    title: `Promote ${own['promote-from']} → ${own.environment}`,
    sha: requested,
    request: preparePromotion(settings, {
      requested,
      environment: own.environment,
      source: readSource(own, settings),
      // The source's own connection; its key defaults to production's.
      sourceTarget: readSshTarget(
        'source-',
        (name) => core.getInput(name) || (name === 'source-ssh-key' ? core.getInput('ssh-key') : ''),
      ),
      composeFileContent: readComposeFile(settings),
      runMigrations,
    }),
  });
}

function readSource(
  own: {
    'promote-from': string;
    'source-deploy-path'?: string;
    'source-app-service'?: string;
    'source-ready-url'?: string;
    'source-ready-host': string;
    'source-ready-port': number;
    'source-ready-path': string;
  },
  settings: ReturnType<typeof readDeploySettings>,
): SourceEnvironment {
  const deployPath = own['source-deploy-path'];
  if (!deployPath)
    throw new InputError(
      'source-deploy-path',
      `is required in promote mode: where ${own['promote-from']} is deployed on its host`,
    );
  if (deployPath.split('/').includes('..'))
    throw new InputError('source-deploy-path', 'must not contain ".."');
  let readinessTarget: ReadinessTarget;
  if (own['source-ready-url'])
    readinessTarget = { url: readinessUrl(own['source-ready-url'], 'source-ready-url') };
  else if (own['source-ready-port'])
    readinessTarget = {
      host: own['source-ready-host'],
      port: own['source-ready-port'],
      path: own['source-ready-path'],
    };
  else
    throw new InputError(
      'source-ready-port',
      `is required (or source-ready-url): where ${own['promote-from']} answers readiness`,
    );
  const readiness = readReadinessSettings('source-ready-');
  // "Ready right now": a short deadline unless the workflow asks for more.
  if (!core.getInput('source-ready-timeout')) readiness.timeoutMs = Math.max(10_000, readiness.intervalMs);
  return {
    environment: own['promote-from'],
    deployPath: deployPath.replace(/\/+$/, ''),
    appService: own['source-app-service'] ?? settings['app-service'],
    readiness,
    readinessTarget,
  };
}

/** The action: reads inputs, runs the engine, sets outputs and the summary; a failure fails the step. */
export async function run(): Promise<void> {
  try {
    await act();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
