import * as core from '@actions/core';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { actionInputs, actionsReporter } from '../edge/actions-reporter.js';
import { dockerfileStages } from '../engine/commands/buildx.js';
import { REGISTRY_PATTERN } from '../engine/commands/registry.js';
import { LocalExecutor } from '../engine/exec/local.js';
import { githubRun, readEventPayload } from '../engine/github-context.js';
import { input, InputError, mask, readInputs } from '../engine/inputs.js';
import { checkExtras, repositoryPath, type ReleaseRequest } from '../engine/release/plan.js';
import { publishRelease, type Reporter } from '../engine/release/release.js';
import { lookUpCommitTime, pickSha, releaseTag } from '../engine/release/revision.js';
import { renderSummary } from '../engine/release/summary.js';
import { checkWorkTree } from '../engine/release/worktree.js';

const TARGET = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

const shape = {
  registry: input.matching(REGISTRY_PATTERN, 'a registry host such as ghcr.io or 127.0.0.1:5000', 'ghcr.io'),
  'app-image': input.optional(),
  'migrator-image': input.optional(),
  context: input.withDefault('.'),
  dockerfile: input.optional(),
  'app-target': input.matching(TARGET, 'a Dockerfile stage name', 'runner'),
  'migrator-target': input.matching(TARGET, 'a Dockerfile stage name', 'migrator'),
  'build-args': input.keyValues(),
  labels: input.keyValues(),
  platforms: input.list(),
  sha: input.matching(
    /^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/,
    'a full commit id (40 hexadecimal characters)',
  ),
  'short-tag': input.boolean(false),
  'registry-username': input.optional(),
  'registry-password': input.secret(false, 'a password or token'),
  push: input.boolean(true),
  cache: input.boolean(false),
  'no-cache': input.boolean(false),
  'allow-dirty': input.boolean(false),
};

function checkTarget(stages: string[], dockerfile: string, target: string, name: string): void {
  if (!stages.includes(target.toLowerCase()))
    throw new InputError(
      name,
      `${dockerfile} has no stage named "${target}"${stages.length ? ` (its stages: ${stages.join(', ')})` : ' (it names no stages with FROM … AS)'}`,
    );
}

const reporter: Reporter = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  group: (title, fn) => core.group(title, fn),
  untrusted: async (fn) => {
    // Build output is not ours: keep it from issuing workflow commands (::set-output, ::add-mask…).
    const token = randomUUID();
    process.stdout.write(`::stop-commands::${token}\n`);
    try {
      return await fn();
    } finally {
      process.stdout.write(`\n::${token}::\n`);
    }
  },
  output: (chunk) => process.stdout.write(chunk),
};

async function act(): Promise<void> {
  const inputs = readInputs(shape, actionInputs);
  const registry = inputs.registry.toLowerCase();
  const username = inputs['registry-username'];
  const password = inputs['registry-password'];
  if (password && !username)
    throw new InputError('registry-username', 'is required when registry-password is set');
  if (username && !password)
    throw new InputError('registry-password', 'is required when registry-username is set');
  if (username && password) mask(Buffer.from(`${username}:${password}`).toString('base64'), actionsReporter);

  const github = githubRun();
  const defaultApp = github.repository.toLowerCase();
  const appRepository = repositoryPath(inputs['app-image'] ?? defaultApp, registry, 'app-image');
  const migratorRepository = repositoryPath(
    inputs['migrator-image'] ?? `${appRepository}-migrator`,
    registry,
    'migrator-image',
  );

  const context = resolve(inputs.context);
  if (!existsSync(context) || !statSync(context).isDirectory())
    throw new InputError('context', `${context} is not a directory`);
  const dockerfile = inputs.dockerfile ? resolve(inputs.dockerfile) : join(context, 'Dockerfile');
  if (!existsSync(dockerfile) || !statSync(dockerfile).isFile())
    throw new InputError('dockerfile', `there is no Dockerfile at ${dockerfile}`);
  const stages = dockerfileStages(readFileSync(dockerfile, 'utf8'));
  checkTarget(stages, dockerfile, inputs['app-target'], 'app-target');
  checkTarget(stages, dockerfile, inputs['migrator-target'], 'migrator-target');
  const badPlatform = inputs.platforms.find((platform) => !PLATFORM.test(platform));
  if (badPlatform)
    throw new InputError(
      'platforms',
      `expected platforms such as linux/amd64, got ${JSON.stringify(badPlatform)}`,
    );
  checkExtras(inputs.labels, inputs['build-args']);

  const event = readEventPayload();
  const picked = pickSha({ input: inputs.sha, eventName: github.eventName, event, githubSha: github.sha });
  const executor = new LocalExecutor();
  // Before anything is built: a sha tag must name exactly that commit.
  const choice = await checkWorkTree(executor, {
    context,
    dockerfile,
    sha: picked.sha,
    cleanTag: releaseTag(picked.sha, inputs['short-tag']),
    allowDirty: inputs['allow-dirty'],
  });
  for (const line of choice.info) core.info(line);
  for (const warning of choice.warnings) core.warning(warning);
  const { tag } = choice;
  core.info(`Release ${tag}: commit ${picked.sha} (from ${picked.from}).`);

  const commitTime = await lookUpCommitTime(executor, context, picked.sha, event);
  for (const warning of commitTime.warnings) core.warning(warning);
  core.info(`Commit time ${commitTime.time.iso} (from ${commitTime.time.from}).`);

  const request: ReleaseRequest = {
    registry,
    appRepository,
    migratorRepository,
    context,
    dockerfile,
    appTarget: inputs['app-target'],
    migratorTarget: inputs['migrator-target'],
    buildArgs: inputs['build-args'],
    labels: inputs.labels,
    platforms: inputs.platforms,
    noCache: inputs['no-cache'],
  };
  const result = await publishRelease(
    request,
    {
      sha: picked.sha,
      tag,
      created: commitTime.time,
      sourceUrl: github.repository ? `${github.serverUrl}/${github.repository}` : undefined,
      dirty: choice.dirtyBuild,
    },
    {
      push: inputs.push,
      cache: inputs.cache,
      credentials: username && password ? { username, password } : undefined,
      tempDir: github.runnerTemp ?? tmpdir(),
    },
    executor,
    reporter,
  );

  const [app, migrator] = result.images;
  core.setOutput('tag', tag);
  core.setOutput('sha', picked.sha);
  core.setOutput('app-image', app!.pinned);
  core.setOutput('migrator-image', migrator!.pinned);
  core.setOutput('app-name', app!.repository);
  core.setOutput('migrator-name', migrator!.repository);
  core.setOutput('app-digest', app!.digest);
  core.setOutput('migrator-digest', migrator!.digest);
  core.setOutput('pushed', String(result.images.some((image) => image.outcome === 'pushed')));
  core.setOutput('dirty', String(choice.dirty));
  if (github.stepSummary) await core.summary.addRaw(renderSummary(result)).write();
  for (const image of result.images) core.info(`${image.role}: ${image.pinned} (${image.outcome})`);
}

/** The action: reads inputs, runs the engine, sets outputs and the summary; a failure fails the step. */
export async function run(): Promise<void> {
  try {
    await act();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
