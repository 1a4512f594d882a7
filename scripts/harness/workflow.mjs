// A small, strict stand-in for GitHub's runner: runs a workflow's jobs in dependency order and each job's
// steps in order, with GitHub's contexts, `if:` conditions, job outputs, reusable-workflow calls and
// environments. Anything it does not model fails loudly (matrix, containers, services, composite actions).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { parseKeyValueFile, parsePathFile, masker, readWorkflowCommands } from './commands.mjs';
import { asString, condition, interpolate, statusFunctions, truthy } from './expressions.mjs';
import { postToRepository } from './github-api.mjs';
import { runLocalAction, runScript, STAND_INS } from './steps.mjs';

const UNSUPPORTED_JOB_KEYS = ['strategy', 'container', 'services', 'defaults', 'continue-on-error'];
const PERMISSION_LEVEL = { none: 0, read: 1, write: 2 };
/** GITHUB_TOKEN of a job that declares no permissions anywhere: GitHub's restricted default for new repositories. */
const DEFAULT_PERMISSIONS = { contents: 'read', packages: 'read', metadata: 'read' };
/** The token GitHub itself acts with (a job's deployment), granted everything by the harness. */
const GITHUB_OWN_TOKEN = 'ghs_harnessgithubitself';

export class WorkflowError extends Error {}

/**
 * The GitHub side of a run: which repositories exist (local git repositories standing for them), the
 * deployer repository (its working tree stands for `deployer.sha`), repository secrets and variables,
 * environments with their own secrets/variables, and who approves protected environments.
 * @typedef {{
 *   deployer: { repository: string, root: string, sha: string },
 *   repositories: Record<string, string>,
 *   secrets?: Record<string, string>,
 *   vars?: Record<string, string>,
 *   environments?: Record<string, { secrets?: Record<string, string>, vars?: Record<string, string> }>,
 *   approve?: (environment: string) => boolean | Promise<boolean>,
 *   nodePath: string,
 *   workDir: string,
 *   reporter?: (event: object) => void,
 *   actor?: string,
 *   githubApi: { url: string, grant: (token: string, permissions: object | string) => void },
 * }} World
 */

function readYaml(text, name) {
  const document = parse(text, { prettyErrors: true });
  if (!document || typeof document !== 'object' || !document.jobs)
    throw new WorkflowError(`${name} is not a workflow (no jobs)`);
  return document;
}

/** The events a workflow declares (`on:` as a string, list or mapping). */
function eventsOf(workflow) {
  const on = workflow.on ?? workflow[true]; // YAML 1.1 readers turn a bare `on` into true
  if (typeof on === 'string') return { [on]: {} };
  if (Array.isArray(on)) return Object.fromEntries(on.map((event) => [event, {}]));
  return Object.fromEntries(Object.entries(on ?? {}).map(([event, config]) => [event, config ?? {}]));
}

/** Workflow files: a repository's at a commit (git show), or deployer's from its working tree. */
function loadWorkflowFile(world, origin, path) {
  const name = `${origin.repository}/${path}`;
  let text;
  if (origin.repository === world.deployer.repository)
    text = readFileSync(join(world.deployer.root, path), 'utf8');
  else {
    const source = world.repositories[origin.repository];
    if (!source) throw new WorkflowError(`no local repository stands for ${origin.repository}`);
    text = execFileSync('git', ['-C', source, 'show', `${origin.sha}:${path}`], { encoding: 'utf8' });
  }
  return readYaml(text, name);
}

/** Resolves a job's `uses:` (./.github/workflows/x.yml or owner/repo/.github/workflows/x.yml@ref). */
function resolveReusable(world, origin, uses) {
  if (uses.startsWith('./')) return { ...origin, path: posix.normalize(uses.slice(2)), ref: origin.ref };
  const match = /^([^/]+\/[^/]+)\/(\.github\/workflows\/[^@]+\.ya?ml)@(.+)$/.exec(uses);
  if (!match) throw new WorkflowError(`cannot resolve reusable workflow ${JSON.stringify(uses)}`);
  const [, repository, path, ref] = match;
  if (repository !== world.deployer.repository)
    throw new WorkflowError(
      `reusable workflow ${uses}: the harness only knows ${world.deployer.repository} (deployer)`,
    );
  return { repository, sha: world.deployer.sha, ref, path };
}

/** Checks and types a reusable or dispatched workflow's inputs like GitHub does. */
function typedInputs(definitions, given, { where, contexts, fromStrings }) {
  const inputs = {};
  for (const name of Object.keys(given))
    if (!(name in (definitions ?? {}))) throw new WorkflowError(`${where}: input ${name} is not defined`);
  for (const [name, spec] of Object.entries(definitions ?? {})) {
    const type = spec?.type ?? 'string';
    let value = given[name];
    if (value === undefined) {
      if (spec?.required) throw new WorkflowError(`${where}: required input ${name} was not provided`);
      value =
        spec?.default === undefined
          ? type === 'boolean'
            ? false
            : type === 'number'
              ? 0
              : ''
          : interpolate(spec.default, contexts);
    }
    if (fromStrings && type === 'boolean' && (value === 'true' || value === 'false'))
      value = value === 'true';
    if (fromStrings && type === 'number' && typeof value === 'string' && value.trim() !== '')
      value = Number(value);
    const actual = typeof value;
    const expected = type === 'boolean' ? 'boolean' : type === 'number' ? 'number' : 'string';
    if (actual !== expected)
      throw new WorkflowError(
        `${where}: input ${name} expects a ${type}, got ${JSON.stringify(value)} (${actual})`,
      );
    if (type === 'choice' && !(spec.options ?? []).includes(value))
      throw new WorkflowError(`${where}: input ${name} must be one of ${spec.options.join(', ')}`);
    inputs[name] = value;
  }
  return inputs;
}

function permissionsOf(job, workflow) {
  return job.permissions ?? workflow.permissions;
}

/** A called job may only ask for what the calling job was granted (GitHub refuses the run otherwise). */
function checkPermissions(requested, granted, where) {
  if (granted === undefined || granted === 'write-all') return;
  const level = (set, scope) =>
    set === 'read-all'
      ? 1
      : set === 'write-all'
        ? 2
        : set && typeof set === 'object'
          ? (PERMISSION_LEVEL[set[scope]] ?? 0)
          : 0;
  const scopes = requested && typeof requested === 'object' ? Object.keys(requested) : [];
  for (const scope of scopes)
    if (level(requested, scope) > level(granted, scope))
      throw new WorkflowError(
        `${where} asks for ${scope}: ${requested[scope]} but the calling job grants ${scope}: ${granted?.[scope] ?? 'none'}`,
      );
}

/** Jobs in an order that respects `needs` (declaration order otherwise). */
function jobOrder(jobs, where) {
  const ids = Object.keys(jobs);
  const needsOf = (id) => [jobs[id].needs ?? []].flat();
  for (const id of ids)
    for (const need of needsOf(id))
      if (!ids.includes(need)) throw new WorkflowError(`${where}: job ${id} needs unknown job ${need}`);
  const done = [];
  while (done.length < ids.length) {
    const next = ids.find((id) => !done.includes(id) && needsOf(id).every((need) => done.includes(need)));
    if (!next) throw new WorkflowError(`${where}: the jobs' needs form a cycle`);
    done.push(next);
  }
  return { order: done, needsOf };
}

function ancestors(id, needsOf) {
  const seen = new Set();
  const visit = (job) => needsOf(job).forEach((need) => seen.has(need) || (seen.add(need), visit(need)));
  visit(id);
  return [...seen];
}

export class Harness {
  /** @param {World} world */
  constructor(world) {
    const given = Object.fromEntries(Object.entries(world).filter(([, value]) => value !== undefined));
    this.world = {
      secrets: {},
      vars: {},
      environments: {},
      approve: () => true,
      reporter: () => {},
      ...given,
    };
    if (!this.world.githubApi?.url)
      throw new WorkflowError('the harness needs a local GitHub API (world.githubApi, see github-api.mjs)');
    this.world.githubApi.grant(GITHUB_OWN_TOKEN, 'write-all');
    this.runCounter = 0;
    this.jobCounter = 0;
  }

  report(event) {
    this.world.reporter(event);
  }

  /**
   * Runs a workflow of `repository` (read at `github.sha`) for an event, like GitHub does on a push or a
   * "Run workflow" click. Returns the jobs' results and outputs.
   * @param {{ repository: string, path: string, event: 'push' | 'workflow_dispatch', ref?: string, sha: string,
   *   inputs?: Record<string, string | boolean>, payload?: object }} trigger
   */
  async trigger({ repository, path, event, ref = 'refs/heads/main', sha, inputs = {}, payload }) {
    const origin = { repository, sha, ref, path };
    const workflow = loadWorkflowFile(this.world, origin, path);
    const events = eventsOf(workflow);
    if (!(event in events))
      throw new WorkflowError(
        `${path} does not run on ${event} (it runs on ${Object.keys(events).join(', ')})`,
      );
    const branches = events[event].branches;
    if (event === 'push' && branches) {
      if (branches.some((branch) => /[*?[\]!]/.test(branch)))
        throw new WorkflowError(`${path}: branch patterns are not supported by the harness`);
      if (!branches.some((branch) => ref === `refs/heads/${branch}`))
        throw new WorkflowError(`${path}: push to ${ref} is filtered out`);
    }
    this.runCounter += 1;
    const runDir = mkdtempSync(join(this.world.workDir, `run-${this.runCounter}-`));
    const eventInputs =
      event === 'workflow_dispatch'
        ? typedInputs(events.workflow_dispatch.inputs, inputs, {
            where: path,
            contexts: {},
            fromStrings: true,
          })
        : {};
    const github = {
      repository,
      repository_owner: repository.split('/')[0],
      sha,
      ref,
      ref_name: ref.replace(/^refs\/(heads|tags)\//, ''),
      ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      event_name: event,
      event:
        payload ??
        (event === 'push'
          ? { ref, after: sha, head_commit: { id: sha }, repository: { full_name: repository } }
          : {
              ref,
              inputs: Object.fromEntries(Object.entries(eventInputs).map(([k, v]) => [k, String(v)])),
              repository: { full_name: repository },
            }),
      actor: this.world.actor ?? 'octocat',
      triggering_actor: this.world.actor ?? 'octocat',
      workflow: workflow.name ?? path,
      workflow_ref: `${repository}/${path}@${ref}`,
      workflow_sha: sha,
      run_id: String(4200 + this.runCounter),
      run_number: String(this.runCounter),
      run_attempt: '1',
      server_url: 'https://github.com',
      // The local GitHub API (scripts/harness/github-api.mjs): a run never reaches api.github.com.
      api_url: this.world.githubApi.url,
      graphql_url: `${this.world.githubApi.url}/graphql`,
      retention_days: '90',
    };
    const eventPath = join(runDir, 'event.json');
    writeFileSync(eventPath, JSON.stringify(github.event));
    this.report({ type: 'workflow', name: github.workflow, path: `${repository}/${path}`, event });
    return this.runWorkflow(workflow, {
      origin,
      github,
      eventPath,
      runDir,
      inputs: eventInputs,
      secrets: { ...this.world.secrets },
      vars: { ...this.world.vars },
      grantedPermissions: undefined,
      prefix: '',
    });
  }

  /**
   * The deployment GitHub itself records for a job that runs in an environment, through the local API: created
   * when the job starts (in_progress), then success or failure with the environment's URL when it ends.
   */
  async jobDeployment(github, environment) {
    const post = async (path, body) => {
      const answer = await postToRepository(
        this.world.githubApi.url,
        GITHUB_OWN_TOKEN,
        github.repository,
        path,
        body,
      );
      if (answer.status !== 201)
        throw new WorkflowError(`GitHub's job deployment: ${answer.status} ${answer.body.message}`);
      return answer.body;
    };
    const log_url = `${github.server_url}/${github.repository}/actions/runs/${github.run_id}`;
    // The local API keeps a deployment's sha only when the ref is one (GitHub would resolve the branch).
    const { id } = await post('/deployments', {
      ref: github.sha,
      environment,
      auto_merge: false,
      required_contexts: [],
    });
    await post(`/deployments/${id}/statuses`, { state: 'in_progress', log_url });
    return {
      finish: (result, url) =>
        post(`/deployments/${id}/statuses`, {
          state: result === 'success' ? 'success' : 'failure',
          log_url,
          ...(url ? { environment_url: url } : {}),
        }),
    };
  }

  async runWorkflow(workflow, run) {
    const where = `${run.origin.repository}/${run.origin.path}`;
    for (const id of Object.keys(workflow.jobs))
      for (const key of UNSUPPORTED_JOB_KEYS)
        if (key in workflow.jobs[id])
          throw new WorkflowError(`${where}: job ${id} uses ${key}, which the harness does not support`);
    const { order, needsOf } = jobOrder(workflow.jobs, where);
    const results = {};
    for (const id of order) {
      const job = workflow.jobs[id];
      const needs = Object.fromEntries(needsOf(id).map((need) => [need, results[need]]));
      const upstream = ancestors(id, needsOf).map((need) => results[need].result);
      const status = () => (upstream.every((result) => result === 'success') ? 'success' : 'failure');
      const jobContexts = { github: run.github, inputs: run.inputs, vars: run.vars, needs };
      const label = `${run.prefix}${job.name ? interpolate(job.name, jobContexts) : id}`;
      if (!condition(job.if, jobContexts, statusFunctions(status))) {
        results[id] = { result: 'skipped', outputs: {} };
        this.report({ type: 'job', name: label, result: 'skipped' });
        continue;
      }
      results[id] = job.uses
        ? await this.callWorkflow(id, job, workflow, run, jobContexts, label)
        : await this.runJob(id, job, workflow, run, jobContexts, label);
    }
    const result = Object.values(results).some((job) => job.result === 'failure') ? 'failure' : 'success';
    const outputs = {};
    const declared = eventsOf(workflow).workflow_call?.outputs ?? {};
    for (const [name, spec] of Object.entries(declared))
      outputs[name] = asString(
        interpolate(spec.value, { github: run.github, inputs: run.inputs, vars: run.vars, jobs: results }),
      );
    return { result, jobs: results, outputs };
  }

  async callWorkflow(id, job, workflow, run, contexts, label) {
    const called = resolveReusable(this.world, run.origin, job.uses);
    const calledWorkflow = loadWorkflowFile(this.world, called, called.path);
    const call = eventsOf(calledWorkflow).workflow_call;
    const where = `${called.repository}/${called.path}`;
    if (!call) throw new WorkflowError(`${where} has no workflow_call trigger`);
    const given = Object.fromEntries(
      Object.entries(job.with ?? {}).map(([name, value]) => [name, interpolate(value, contexts)]),
    );
    const inputs = typedInputs(call.inputs, given, { where, contexts: { github: run.github } });
    let secrets;
    if (job.secrets === 'inherit') secrets = { ...run.secrets };
    else {
      secrets = {};
      for (const [name, value] of Object.entries(job.secrets ?? {})) {
        if (!(name in (call.secrets ?? {})))
          throw new WorkflowError(`${where}: secret ${name} is not defined`);
        secrets[name] = asString(interpolate(value, { ...contexts, secrets: run.secrets }));
      }
    }
    for (const [name, spec] of Object.entries(call.secrets ?? {}))
      if (spec?.required && !secrets[name])
        throw new WorkflowError(`${where}: required secret ${name} was not provided`);
    const granted = permissionsOf(job, workflow) ?? run.grantedPermissions;
    for (const [calledId, calledJob] of Object.entries(calledWorkflow.jobs))
      checkPermissions(permissionsOf(calledJob, calledWorkflow), granted, `${where} job ${calledId}`);
    this.report({ type: 'call', name: label, uses: job.uses });
    const outcome = await this.runWorkflow(calledWorkflow, {
      ...run,
      origin: called,
      inputs,
      secrets,
      grantedPermissions: granted,
      // A called workflow sees only the secrets its caller names (all of them with `inherit`), also when
      // they come from the environment of one of its jobs.
      secretNames: job.secrets === 'inherit' ? undefined : Object.keys(job.secrets ?? {}),
      prefix: `${label} / `,
    });
    return { result: outcome.result, outputs: outcome.outputs, jobs: outcome.jobs };
  }

  async runJob(id, job, workflow, run, jobContexts, label) {
    const where = `${run.origin.repository}/${run.origin.path}`;
    const started = Date.now();
    const jobDir = mkdtempSync(join(run.runDir, `${id}-`));
    const workspace = join(jobDir, 'workspace');
    const temp = join(jobDir, 'temp');
    for (const dir of [workspace, temp, join(this.world.workDir, 'tool-cache')])
      mkdirSync(dir, { recursive: true });

    let secrets = { ...run.secrets };
    let vars = { ...run.vars };
    let environment;
    if (job.environment !== undefined) {
      const spec = typeof job.environment === 'object' ? job.environment : { name: job.environment };
      environment = { name: asString(interpolate(spec.name, jobContexts)), url: spec.url };
      const settings = this.world.environments[environment.name] ?? {};
      const visible = Object.entries(settings.secrets ?? {}).filter(
        ([name]) => !run.secretNames || run.secretNames.includes(name),
      );
      secrets = { ...secrets, ...Object.fromEntries(visible) };
      vars = { ...vars, ...(settings.vars ?? {}) };
    }
    // Each job has its own GITHUB_TOKEN, with the permissions the job was given, enforced by the API.
    const token = `ghs_harness${String(this.runCounter).padStart(4, '0')}${String(++this.jobCounter).padStart(4, '0')}token`;
    const permissions = permissionsOf(job, workflow) ?? run.grantedPermissions ?? DEFAULT_PERMISSIONS;
    this.world.githubApi.grant(token, permissions);
    secrets.GITHUB_TOKEN = token;
    const github = { ...run.github, job: id, workspace, token };
    const jobIdentity = {
      workflow_ref: `${run.origin.repository}/${run.origin.path}@${run.origin.ref}`,
      workflow_sha: run.origin.sha,
      workflow_repository: run.origin.repository,
      workflow_file_path: run.origin.path,
    };
    const runner = {
      os: 'Linux',
      arch: 'X64',
      name: 'deployer-harness',
      temp,
      tool_cache: join(this.world.workDir, 'tool-cache'),
      environment: 'self-hosted',
      debug: '',
    };
    const base = {
      github,
      inputs: run.inputs,
      vars,
      needs: jobContexts.needs,
      secrets,
      runner,
      strategy: {},
      matrix: {},
    };
    let status = 'success';
    const jobContext = () => ({ status, ...jobIdentity });
    const functions = statusFunctions(() => status);

    const concurrency = job.concurrency ?? workflow.concurrency;
    const group =
      concurrency === undefined
        ? undefined
        : asString(
            interpolate(typeof concurrency === 'object' ? concurrency.group : concurrency, {
              github,
              inputs: run.inputs,
              vars,
              needs: jobContexts.needs,
            }),
          );
    const timeoutMinutes = Number(
      interpolate(job['timeout-minutes'] ?? 360, {
        github,
        inputs: run.inputs,
        vars,
        needs: jobContexts.needs,
      }),
    );
    const deadline = started + timeoutMinutes * 60_000;
    this.report({
      type: 'job',
      name: label,
      result: 'started',
      environment: environment?.name,
      concurrency: group,
      runsOn: job['runs-on'],
    });
    // Protection rules (required reviewers) are passed before the job gets a runner.
    if (environment && !(await this.world.approve(environment.name))) {
      const reason = `environment ${environment.name} was not approved`;
      this.report({ type: 'job', name: label, result: 'failure', reason });
      return { result: 'failure', outputs: {}, steps: [], environment: { name: environment.name } };
    }
    // As GitHub does for a job with an environment: a deployment of its own, in progress while the job runs.
    const jobDeployment = environment && (await this.jobDeployment(run.github, environment.name));

    const env = {
      ...interpolateMap(workflow.env, { github, inputs: run.inputs, vars, secrets }),
      ...interpolateMap(job.env, { ...base, job: jobContext(), env: {} }),
    };
    const extraPath = [];
    const steps = {};
    const masks = Object.values(secrets);
    const stepRecords = [];
    for (const [index, step] of (job.steps ?? []).entries()) {
      const stepContexts = () => ({ ...base, job: jobContext(), steps, env: { ...env } });
      const stepId = step.id ?? `__step${index}`;
      const name = asString(
        interpolate(
          step.name ??
            step.uses ??
            (step.run ? `Run ${String(step.run).split('\n')[0]}` : `step ${index + 1}`),
          stepContexts(),
        ),
      );
      if (!condition(step.if, stepContexts(), functions)) {
        steps[stepId] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
        stepRecords.push({ name, outcome: 'skipped', ms: 0 });
        this.report({ type: 'step', job: label, name, outcome: 'skipped', ms: 0 });
        continue;
      }
      const stepStarted = Date.now();
      const files = {
        GITHUB_OUTPUT: join(temp, `output-${index}`),
        GITHUB_ENV: join(temp, `env-${index}`),
        GITHUB_PATH: join(temp, `path-${index}`),
        GITHUB_STATE: join(temp, `state-${index}`),
        GITHUB_STEP_SUMMARY: join(temp, `summary-${index}`),
      };
      for (const file of Object.values(files)) writeFileSync(file, '');
      let outcome = 'success';
      let log = '';
      let errors = [];
      let outputs = {};
      try {
        const stepEnv = { ...env, ...interpolateMap(step.env, stepContexts()) };
        const processEnv = {
          PATH: [...extraPath, process.env.PATH ?? '/usr/bin:/bin'].join(':'),
          HOME: process.env.HOME ?? '/root',
          CI: 'true',
          GITHUB_ACTIONS: 'true',
          GITHUB_REPOSITORY: github.repository,
          GITHUB_REPOSITORY_OWNER: github.repository_owner,
          GITHUB_SHA: github.sha,
          GITHUB_REF: github.ref,
          GITHUB_REF_NAME: github.ref_name,
          GITHUB_REF_TYPE: github.ref_type,
          GITHUB_EVENT_NAME: github.event_name,
          GITHUB_EVENT_PATH: run.eventPath,
          GITHUB_WORKSPACE: workspace,
          GITHUB_ACTOR: github.actor,
          GITHUB_TRIGGERING_ACTOR: github.triggering_actor,
          GITHUB_WORKFLOW: github.workflow,
          GITHUB_WORKFLOW_REF: github.workflow_ref,
          GITHUB_WORKFLOW_SHA: github.workflow_sha,
          GITHUB_RUN_ID: github.run_id,
          GITHUB_RUN_NUMBER: github.run_number,
          GITHUB_RUN_ATTEMPT: github.run_attempt,
          GITHUB_SERVER_URL: github.server_url,
          GITHUB_API_URL: github.api_url,
          GITHUB_GRAPHQL_URL: github.graphql_url,
          GITHUB_JOB: id,
          GITHUB_ACTION: stepId,
          RUNNER_OS: runner.os,
          RUNNER_ARCH: runner.arch,
          RUNNER_NAME: runner.name,
          RUNNER_ENVIRONMENT: runner.environment,
          RUNNER_TEMP: temp,
          RUNNER_TOOL_CACHE: runner.tool_cache,
          ...files,
          ...stepEnv,
        };
        const stepDeadline = Math.min(
          deadline,
          step['timeout-minutes'] ? Date.now() + Number(step['timeout-minutes']) * 60_000 : deadline,
        );
        let processResult;
        if (step.uses !== undefined) {
          const uses = String(step.uses);
          const inputs = Object.fromEntries(
            Object.entries(step.with ?? {}).map(([key, value]) => [
              key,
              asString(interpolate(value, stepContexts())),
            ]),
          );
          if (uses.startsWith('./')) {
            processResult = await runLocalAction({
              uses,
              workspace,
              inputs,
              env: processEnv,
              contexts: stepContexts(),
              nodePath: this.world.nodePath,
              deadline: stepDeadline,
            });
          } else {
            const [action, ref] = uses.split('@');
            const standIn = STAND_INS[action];
            if (!standIn) throw new WorkflowError(`${uses}: the harness has no stand-in for this action`);
            if (!/^[0-9a-f]{40}$/.test(ref ?? ''))
              throw new WorkflowError(`${uses}: third-party actions must be pinned to a full commit sha`);
            log = await standIn({
              inputs,
              workspace,
              world: this.world,
              github,
              job: jobContext(),
              permissions,
              env: processEnv,
            });
          }
        } else if (step.run !== undefined) {
          processResult = await runScript({
            script: asString(interpolate(String(step.run), stepContexts())),
            shell: step.shell,
            workingDirectory:
              step['working-directory'] && asString(interpolate(step['working-directory'], stepContexts())),
            workspace,
            tempDir: temp,
            env: processEnv,
            deadline: stepDeadline,
          });
        } else throw new WorkflowError(`${where}: job ${id} step ${index + 1} has neither uses nor run`);
        if (processResult) {
          const commands = readWorkflowCommands(processResult.stdout);
          masks.push(...commands.masks);
          errors = commands.errors;
          log = [commands.visible, processResult.stderr].filter(Boolean).join('\n');
          if (processResult.timedOut) {
            outcome = 'failure';
            errors.push(`The step exceeded the time limit (timeout-minutes) and was cancelled`);
          } else if (processResult.code !== 0) {
            outcome = 'failure';
            errors.push(`Process completed with exit code ${processResult.code}.`);
          }
        }
        outputs = parseKeyValueFile(files.GITHUB_OUTPUT);
        Object.assign(env, parseKeyValueFile(files.GITHUB_ENV));
        extraPath.unshift(...parsePathFile(files.GITHUB_PATH).reverse());
      } catch (error) {
        if (error instanceof WorkflowError) throw error;
        outcome = 'failure';
        errors.push(error.message);
      }
      const continueOnError = truthy(interpolate(step['continue-on-error'] ?? false, stepContexts()));
      const conclusion = outcome === 'failure' && continueOnError ? 'success' : outcome;
      if (conclusion === 'failure') status = 'failure';
      steps[stepId] = { outputs, outcome, conclusion };
      const mask = masker(masks);
      const record = {
        name,
        outcome,
        ms: Date.now() - stepStarted,
        log: mask(log),
        errors: errors.map(mask),
        outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, mask(value)])),
        summary: mask(readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8')),
      };
      stepRecords.push(record);
      this.report({ type: 'step', job: label, ...record });
    }

    const mask = masker(masks);
    const outputs = {};
    for (const [name, value] of Object.entries(job.outputs ?? {})) {
      const text = asString(interpolate(value, { ...base, job: jobContext(), steps, env }));
      // GitHub drops a job output that contains a secret rather than pass it on.
      if (text && mask(text) !== text) {
        this.report({
          type: 'warning',
          job: label,
          message: `Skip output '${name}' since it may contain secret.`,
        });
        continue;
      }
      outputs[name] = text;
    }
    const url =
      environment?.url === undefined
        ? undefined
        : asString(interpolate(environment.url, { ...base, secrets: {}, job: jobContext(), steps, env }));
    await jobDeployment?.finish(status, url);
    this.report({
      type: 'job',
      name: label,
      result: status,
      ms: Date.now() - started,
      environment: environment?.name,
      url,
    });
    return {
      result: status,
      outputs,
      steps: stepRecords,
      environment: environment && { name: environment.name, url },
    };
  }
}

function interpolateMap(map, contexts) {
  return Object.fromEntries(
    Object.entries(map ?? {}).map(([key, value]) => [key, asString(interpolate(value, contexts))]),
  );
}
