import * as core from '@actions/core';
import { actionInputs } from '../edge/actions-reporter.js';
import { deployStep } from '../edge/deploy-step.js';
import { githubRun, runIdentity } from '../engine/github-context.js';
import { input, InputError, readingWith, readInputs } from '../engine/inputs.js';
import { readSshTarget } from '../engine/ssh-inputs.js';
import { environmentUrl, readComposeFile, readDeploySettings } from '../engine/deploy/inputs.js';
import { readSource } from '../engine/promote/source-inputs.js';
import { preparePromotion, prepareRollback } from '../engine/promote/prepare.js';

const ENVIRONMENT = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const RELEASE = /^(?:[0-9a-f]{7,40}|\d{8}T\d{6}Z-[0-9a-f]{7})$/;

async function act(): Promise<void> {
  const own = readInputs(
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
      'run-migrations': input.optional(),
      url: input.optional(),
    },
    actionInputs,
  );
  const target = readSshTarget('', actionInputs);
  if (!target) throw new InputError('host', 'is required: the production SSH host');
  const run = githubRun();
  const settings = readDeploySettings(actionInputs, run.workspace);
  const runMigrations =
    own['run-migrations'] === undefined
      ? own.mode === 'promote'
      : readInputs({ 'run-migrations': input.boolean(true) }, actionInputs)['run-migrations'];
  const report = {
    target: { ...target, keepaliveMs: settings['ssh-keepalive'] },
    environment: own.environment,
    url: environmentUrl(own.url, settings),
    logFormat: settings['log-format'],
    notifyUrl: settings['notify-url'],
    notifySecret: settings['notify-secret'],
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
      onVerified: (release) => core.setOutput('source-release', release.id),
    }),
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
