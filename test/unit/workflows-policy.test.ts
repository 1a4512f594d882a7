import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { parse } from 'yaml';
import {
  blueGreenServiceProblem,
  type ServiceConfig,
} from '../../actions/engine/deploy/blue-green-config.js';
import { deploySettingsShape, readDeploySettings } from '../../actions/engine/deploy/inputs.js';
import { CONFIG_SETTING_NAMES } from '../../actions/engine/config/settings.js';
import { inputsFrom } from '../../actions/engine/inputs.js';
import { collectingReporter } from '../../actions/engine/reporter.js';
import { interpolate } from '../../scripts/harness/index.mjs';
import { repoRoot } from '../support/paths.js';

// Rules for deployer's reusable workflows and starters that no linter checks.

type Step = {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  if?: string;
};
type Job = {
  name?: string;
  uses?: string;
  permissions?: Record<string, string> | string;
  'timeout-minutes'?: number;
  environment?: string | { name: string; url?: string };
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  steps?: Step[];
  with?: Record<string, unknown>;
  secrets?: unknown;
  outputs?: Record<string, string>;
};
type Input = { type: string; required?: boolean; default?: unknown; description?: string };
type Trigger = {
  inputs?: Record<string, Input>;
  secrets?: Record<string, { required?: boolean; description?: string }>;
  outputs?: Record<string, { description?: string; value: string }>;
};
type Workflow = {
  on: { workflow_call?: Trigger; workflow_dispatch?: Trigger };
  permissions?: unknown;
  jobs: Record<string, Job>;
};

const REUSABLE = ['release.yml', 'deploy-staging.yml', 'promote-prod.yml', 'secrets-scan.yml'];
const load = (path: string) => parse(readFileSync(`${repoRoot}${path}`, 'utf8')) as Workflow;
const reusable = REUSABLE.map((file) => [file, load(`.github/workflows/${file}`)] as const);
const starters = readdirSync(`${repoRoot}workflows-templates`)
  .filter((name) => name.endsWith('.yml'))
  .map((file) => [file, load(`workflows-templates/${file}`)] as const);

describe.each(reusable)('.github/workflows/%s', (_file, workflow) => {
  const jobs = Object.entries(workflow.jobs);

  it('is reusable, grants nothing by default, and gives each job least privilege and a timeout', () => {
    expect(workflow.on.workflow_call).toBeDefined();
    expect(workflow.permissions).toEqual({});
    for (const [id, job] of jobs) {
      expect(job['timeout-minutes'], id).toBeGreaterThan(0);
      expect(typeof job.permissions, id).toBe('object');
      expect(job.permissions, id).toHaveProperty('contents', 'read');
      for (const level of Object.values(job.permissions as Record<string, string>))
        expect(['read', 'write']).toContain(level);
    }
  });

  it('pins third-party actions to a full commit and runs only its own actions from .deployer', () => {
    for (const [, job] of jobs)
      for (const step of job.steps ?? []) {
        if (!step.uses) continue;
        if (step.uses.startsWith('./')) expect(step.uses).toMatch(/^\.\/\.deployer\/[a-z-]+$/);
        else expect(step.uses).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
      }
  });

  it("checks deployer out at the called workflow's own commit before using its actions", () => {
    const usingDeployer = jobs.filter(([, job]) =>
      job.steps?.some((step) => step.uses?.startsWith('./.deployer/')),
    );
    expect(usingDeployer.length).toBeGreaterThan(0);
    for (const [id, job] of usingDeployer) {
      const steps = job.steps ?? [];
      const checkout = steps.findIndex((step) => step.with?.path === '.deployer');
      expect(checkout, id).toBeGreaterThanOrEqual(0);
      expect(steps[checkout]!.with).toMatchObject({
        repository: '${{ job.workflow_repository }}',
        ref: '${{ job.workflow_sha }}',
        'persist-credentials': false,
      });
      const firstOwn = steps.findIndex((step) => step.uses?.startsWith('./.deployer/'));
      expect(firstOwn, id).toBeGreaterThan(checkout);
      // The caller's checkout comes first: actions/checkout empties its target folder.
      const source = steps.findIndex(
        (step) => step.uses?.startsWith('actions/checkout@') && step.with?.path !== '.deployer',
      );
      expect(source, id).toBeLessThan(checkout);
    }
  });

  it('keeps no token in .git/config of a checkout whose content gitleaks-gate scans', () => {
    const scanning = jobs.filter(([, job]) =>
      job.steps?.some((step) => step.uses === './.deployer/gitleaks-gate'),
    );
    for (const [id, job] of scanning)
      for (const step of job.steps!.filter((s) => s.uses?.startsWith('actions/checkout@')))
        expect(step.with?.['persist-credentials'], `${id}: ${step.name}`).toBe(false);
    if (_file === 'secrets-scan.yml') expect(scanning.map(([id]) => id)).toEqual(['gitleaks-gate']);
  });

  it('passes deployer actions only inputs their action.yml declares', () => {
    for (const [, job] of jobs)
      for (const step of job.steps ?? []) {
        if (!step.uses?.startsWith('./.deployer/')) continue;
        const action = step.uses.slice('./.deployer/'.length);
        const metadata = parse(readFileSync(`${repoRoot}${action}/action.yml`, 'utf8')) as {
          inputs: Record<string, unknown>;
        };
        for (const input of Object.keys(step.with ?? {}))
          expect(Object.keys(metadata.inputs), `${action}: ${input}`).toContain(input);
      }
  });

  it('never expands an expression inside a run: script (values reach scripts through env:)', () => {
    for (const [, job] of jobs)
      for (const step of job.steps ?? []) if (step.run) expect(step.run).not.toContain('${{');
  });

  it('leaves every secret optional (environment secrets cannot satisfy required ones) and documents it', () => {
    for (const [name, spec] of Object.entries(workflow.on.workflow_call!.secrets ?? {})) {
      expect(spec.required, name).toBe(false);
      expect(spec.description, name).toBeTruthy();
    }
  });
});

describe('deploy jobs', () => {
  it.each([
    ['deploy-staging.yml', 'deploy', 'staging'],
    ['promote-prod.yml', 'promote', 'production'],
  ])(
    '%s runs in its environment, one at a time per repository, never cancelling a running deploy',
    (file, id, environment) => {
      const job = load(`.github/workflows/${file}`).jobs[id]!;
      expect(job.environment).toMatchObject({ name: environment });
      expect(job.concurrency).toEqual({
        group: `deployer-\${{ github.repository }}-${environment}`,
        'cancel-in-progress': false,
      });
    },
  );

  it('promote-prod can be dispatched by hand with the same sha and rollback inputs', () => {
    const on = load('.github/workflows/promote-prod.yml').on;
    for (const name of ['sha', 'rollback', 'rollback-to']) {
      expect(on.workflow_dispatch!.inputs![name], name).toBeDefined();
      expect(on.workflow_dispatch!.inputs![name]!.type).toBe(on.workflow_call!.inputs![name]!.type);
    }
  });

  const DEPLOYS = [
    ['deploy-staging.yml', 'deploy', './.deployer/deploy-staging'],
    ['promote-prod.yml', 'promote', './.deployer/promote-prod'],
  ] as const;

  const deployOf = (file: string, id: string, uses: string) => {
    const workflow = load(`.github/workflows/${file}`);
    const metadata = parse(
      readFileSync(`${repoRoot}${uses.slice('./.deployer/'.length)}/action.yml`, 'utf8'),
    ) as { inputs: Record<string, { default?: string }> };
    const triggers = [workflow.on.workflow_call!, workflow.on.workflow_dispatch].filter(
      (trigger): trigger is Trigger => trigger !== undefined,
    );
    const job = workflow.jobs[id]!;
    const step = job.steps!.find((s) => s.uses === uses)!;
    return { workflow, metadata, triggers, job, step };
  };

  // Settings a deploy config file can set, which each workflow takes as inputs and passes on as they are.
  const PASSED_ON = [
    'compose-file',
    'env-file',
    'ready-path',
    'ready-timeout',
    'strategy',
    'target',
    'proxy-address',
    'proxy-image',
    'proxy-container',
    'proxy-dir',
    'app-port',
    'drain-timeout',
  ];
  const PASSED_ON_BY: Record<string, string[]> = {
    'deploy-staging.yml': [...PASSED_ON, 'ready-expect-json', 'deploy-env'],
    'promote-prod.yml': [...PASSED_ON, 'registry'],
  };

  // What these inputs defaulted to in the workflows before the actions took the defaults over: callers that
  // set none of them must get exactly this from the action's code.
  const FORMER_WORKFLOW_DEFAULTS: Record<string, string> = {
    'compose-file': 'docker-compose.deploy.yml',
    'env-file': '.env.production',
    'ready-path': '/api/ready',
    'ready-timeout': '60s',
    strategy: 'recreate',
    'proxy-address': ':80',
    'proxy-image': 'caddy:2',
    'proxy-container': 'deployer-proxy',
    'proxy-dir': '~/.deployer-proxy',
    'drain-timeout': '30s',
  };
  const BASE = { 'deploy-path': '/srv/x', 'ready-port': '8080' };
  const settingsOf = (values: Record<string, string>) =>
    readDeploySettings(inputsFrom({ ...BASE, ...values }, collectingReporter()), '/tmp/workspace');

  it("the actions' code defaults are what the workflows defaulted to (recreate for strategy)", () => {
    const defaults = settingsOf({});
    expect(defaults.strategy).toBe('recreate');
    expect(defaults.switching).toEqual({ strategy: 'recreate' });
    expect(settingsOf(FORMER_WORKFLOW_DEFAULTS)).toEqual(defaults);
    for (const name of Object.keys(FORMER_WORKFLOW_DEFAULTS))
      expect(CONFIG_SETTING_NAMES, name).toContain(name);
    // Each one, alone, is its default (not only all together).
    for (const [name, value] of Object.entries(FORMER_WORKFLOW_DEFAULTS))
      expect(settingsOf({ [name]: value }), name).toEqual(defaults);
    expect(Object.keys(deploySettingsShape)).toEqual(
      expect.arrayContaining(
        Object.keys(FORMER_WORKFLOW_DEFAULTS).filter((name) => name !== 'ready-timeout'),
      ),
    );
  });

  it.each(DEPLOYS)(
    '%s takes the settings a config file can set with no default of its own when the action has none, and passes them on',
    (file, id, uses) => {
      const { metadata, triggers, step } = deployOf(file, id, uses);
      const expected = PASSED_ON_BY[file]!;
      for (const trigger of triggers) {
        const settable = Object.keys(trigger.inputs!).filter((name) => CONFIG_SETTING_NAMES.includes(name));
        // Every workflow input the file could also set is one of these (a new one is checked too).
        expect(settable.sort(), file).toEqual([...expected].sort());
        for (const name of settable) {
          const input = trigger.inputs![name]!;
          const action = metadata.inputs[name];
          expect(action, `${file} ${name}: declared by the action`).toBeDefined();
          expect(input, `${file} ${name}`).toMatchObject({ type: 'string' });
          // A non-empty default would be passed by every caller and win over the config file for every host.
          expect(input.default ?? '', `${file} ${name}`).toBe(action!.default ?? '');
          if (action!.default === undefined) expect(input.default ?? '', `${file} ${name}`).toBe('');
          if (name in FORMER_WORKFLOW_DEFAULTS)
            expect(input.description, `${file} ${name}`).toContain(
              `Default - ${FORMER_WORKFLOW_DEFAULTS[name]}.`,
            );
        }
      }
      for (const name of expected) expect(step.with![name], `${file} ${name}`).toBe(`\${{ inputs.${name} }}`);
    },
  );

  it.each(DEPLOYS)(
    '%s takes config-file and max-parallel, passes them on, and outputs hosts',
    (file, id, uses) => {
      const { workflow, triggers, job, step } = deployOf(file, id, uses);
      for (const trigger of triggers)
        for (const name of ['config-file', 'max-parallel']) {
          expect(trigger.inputs![name], `${file} ${name}`).toMatchObject({ type: 'string' });
          expect(trigger.inputs![name]!.default ?? '', `${file} ${name}`).toBe('');
          expect(trigger.inputs![name]!.description, `${file} ${name}`).toBeTruthy();
        }
      expect(step.with!['config-file']).toBe('${{ inputs.config-file }}');
      expect(step.with!['max-parallel']).toBe('${{ inputs.max-parallel }}');
      expect(job.outputs?.hosts).toBe(`\${{ steps.${step.id}.outputs.hosts }}`);
      expect(workflow.on.workflow_call!.outputs?.hosts?.value).toBe(`\${{ jobs.${id}.outputs.hosts }}`);
    },
  );

  // Every secret set, every other input at its default: what the action is given.
  const givenTo = (file: string, id: string, uses: string, inputs: Record<string, unknown>) => {
    const { workflow, step } = deployOf(file, id, uses);
    const secrets = Object.fromEntries(
      Object.keys(workflow.on.workflow_call!.secrets!).map((name) => [name, `secret-${name}`]),
    );
    const defaults = Object.fromEntries(
      Object.entries(workflow.on.workflow_call!.inputs!).map(([name, spec]) => [name, spec.default ?? '']),
    );
    const contexts = {
      inputs: { ...defaults, 'app-image': 'ghcr.io/acme/app@sha256:1', ...inputs },
      secrets,
      github: { sha: 'abc', token: 'ghs_x', actor: 'octocat' },
      steps: { check: { outputs: { 'source-ref': 'abc' } } },
    };
    const evaluate = (values: Record<string, unknown> | undefined) =>
      Object.fromEntries(
        Object.entries(values ?? {}).map(([name, value]) => [name, String(interpolate(value, contexts))]),
      );
    return { with: evaluate(step.with), env: evaluate(step.env) };
  };

  it.each(DEPLOYS)(
    '%s, with config-file, gives the action none of the settings the file sets (but the registry credentials), and its secrets as env',
    (file, id, uses) => {
      const given = givenTo(file, id, uses, { 'config-file': '.github/deployer.yml' });
      expect(given.with['config-file']).toBe('.github/deployer.yml');
      for (const [name, value] of Object.entries(given.with)) {
        if (!CONFIG_SETTING_NAMES.includes(name) && name !== 'host') continue;
        if (['registry-username', 'registry-password'].includes(name)) continue;
        expect(value, `${file} ${name}`).toBe('');
      }
      expect(given.env).toEqual({
        SSH_PRIVATE_KEY: 'secret-SSH_PRIVATE_KEY',
        STAGING_SSH_PRIVATE_KEY:
          file === 'promote-prod.yml' ? 'secret-STAGING_SSH_PRIVATE_KEY' : 'secret-SSH_PRIVATE_KEY',
        REGISTRY_USERNAME: 'secret-REGISTRY_USERNAME',
        REGISTRY_TOKEN: 'secret-REGISTRY_TOKEN',
      });
      // The variables the file reads are the values of the inputs that win over it.
      expect(given.env.REGISTRY_USERNAME).toBe(given.with['registry-username']);
      expect(given.env.REGISTRY_TOKEN).toBe(given.with['registry-password']);
    },
  );

  it.each(DEPLOYS)('%s, without config-file, passes the connection secrets as before', (file, id, uses) => {
    const given = givenTo(file, id, uses, {});
    expect(given.with).toMatchObject({
      'config-file': '',
      host: 'secret-SSH_HOST',
      port: 'secret-SSH_PORT',
      user: 'secret-SSH_USER',
      'ssh-key': 'secret-SSH_PRIVATE_KEY',
      'host-fingerprint': 'secret-SSH_HOST_FINGERPRINT',
      'deploy-path': 'secret-DEPLOY_PATH',
      'app-host-port': 'secret-APP_HOST_PORT',
    });
  });

  it('secrets-scan names its job gitleaks-gate (the required status check) and keeps the history', () => {
    const job = load('.github/workflows/secrets-scan.yml').jobs['gitleaks-gate']!;
    expect(job.name).toBe('gitleaks-gate');
    expect(
      job.steps!.find((step) => step.uses?.startsWith('actions/checkout@') && !step.with?.path)?.with,
    ).toMatchObject({
      'fetch-depth': 0,
    });
    expect(job.steps!.some((step) => step.uses?.startsWith('github/codeql-action/upload-sarif@'))).toBe(true);
  });
});

describe('the deploy starters', () => {
  const deploys = [
    ['deployer-staging.yml', 'staging'],
    ['deployer-production.yml', 'production'],
  ] as const;
  const settings = deploys.map(([file, job]) => load(`workflows-templates/${file}`).jobs[job]!.with!);

  it('deploy blue-green, with a compose file whose app service two containers can share', () => {
    for (const [index, [file]] of deploys.entries()) {
      const withs = settings[index]!;
      expect(withs.strategy, file).toBe('blue-green');
      // examples/hello is the app the starters are made for (and the end-to-end test runs them on).
      const compose = parse(
        readFileSync(`${repoRoot}examples/hello/${String(withs['compose-file'])}`, 'utf8'),
      ) as {
        services: Record<string, ServiceConfig>;
      };
      expect(blueGreenServiceProblem(compose.services.app, 'app'), file).toBeUndefined();
    }
  });

  it('give staging and production different proxy addresses, so that they can share a host', () => {
    const [staging, production] = settings.map((withs) => String(withs['proxy-address']));
    expect(staging).toMatch(/^:\d+$/);
    expect(production).toMatch(/^:\d+$/);
    expect(staging).not.toBe(production);
  });
});

describe.each(starters)('workflows-templates/%s', (file, workflow) => {
  it("has GitHub's starter metadata beside it", () => {
    const properties = `${repoRoot}workflows-templates/${file.replace(/\.yml$/, '.properties.json')}`;
    expect(existsSync(properties)).toBe(true);
    const metadata = JSON.parse(readFileSync(properties, 'utf8'));
    expect(Object.keys(metadata)).toEqual(
      expect.arrayContaining(['name', 'description', 'iconName', 'categories']),
    );
  });

  it("calls deployer's reusable workflows with no default token permissions and each call's own grant", () => {
    expect(workflow.permissions).toEqual({});
    for (const [id, job] of Object.entries(workflow.jobs)) {
      const called = load(calledPath(job.uses!));
      for (const [calledId, calledJob] of Object.entries(called.jobs))
        for (const [scope, level] of Object.entries(calledJob.permissions as Record<string, string>))
          expect((job.permissions as Record<string, string>)?.[scope], `${id} -> ${calledId} ${scope}`).toBe(
            level,
          );
      // Nothing beyond what the called jobs ask for.
      const asked = new Set(
        Object.values(called.jobs).flatMap((calledJob) => Object.keys(calledJob.permissions as object)),
      );
      expect(
        Object.keys(job.permissions as object).filter((scope) => !asked.has(scope)),
        id,
      ).toEqual([]);
    }
  });

  it('pins deployer by full commit id with its release version, the same in every call', () => {
    const uses = [
      ...readFileSync(`${repoRoot}workflows-templates/${file}`, 'utf8').matchAll(/^\s*uses: (.*)$/gm),
    ];
    expect(uses.length).toBe(Object.keys(workflow.jobs).length);
    for (const [, line] of uses) expect(line).toMatch(PINNED_CALL);
    expect(new Set(uses.map(([, line]) => PINNED_CALL.exec(line!)!.slice(2, 4).join(' ')))).toEqual(
      new Set([`${pin.sha} ${pin.version}`]),
    );
  });

  it('passes each secret the called workflow declares by name, never `secrets: inherit`', () => {
    for (const [id, job] of Object.entries(workflow.jobs)) {
      const declared = Object.keys(load(calledPath(job.uses!)).on.workflow_call!.secrets ?? {});
      expect(job.secrets, id).toEqual(
        Object.fromEntries(declared.map((name) => [name, `\${{ secrets.${name} }}`])),
      );
    }
  });
});

/** `uses: acme/deployer/.github/workflows/<file>@<commit id> # v<major>.<minor>.<patch>` */
const PINNED_CALL = /^acme\/deployer\/(\.github\/workflows\/[a-z-]+\.yml)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$/;
const calledPath = (uses: string) => uses.replace(/^acme\/deployer\//, '').replace(/@.*$/, '');
const pin = (() => {
  const [, , sha, version] = PINNED_CALL.exec(
    /uses: (.*)$/m.exec(readFileSync(`${repoRoot}workflows-templates/deployer-staging.yml`, 'utf8'))![1]!,
  )!;
  return { sha: sha!, version: version! };
})();
const git = (...args: string[]) =>
  execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const hasCommit = (sha: string) => {
  try {
    git('cat-file', '-e', `${sha}^{commit}`);
    return true;
  } catch {
    return false;
  }
};
// A shallow clone may lack the pinned commit; a full one (CI's) must have it.
const shallow = git('rev-parse', '--is-shallow-repository').trim() === 'true';

describe.skipIf(shallow && !hasCommit(pin.sha))('the commit the starters pin', () => {
  const at = (path: string) => parse(git('show', `${pin.sha}:${path}`)) as Workflow;

  it("is one of this repository's commits on the way to HEAD, released as the version the comment names", () => {
    expect(hasCommit(pin.sha)).toBe(true);
    git('merge-base', '--is-ancestor', pin.sha, 'HEAD');
    expect(`v${JSON.parse(git('show', `${pin.sha}:package.json`)).version}`).toBe(pin.version);
  });

  it.each(starters)(
    'has the inputs, secrets and permissions %s uses in its reusable workflows',
    (_file, workflow) => {
      for (const [id, job] of Object.entries(workflow.jobs)) {
        const called = at(calledPath(job.uses!));
        const trigger = called.on.workflow_call!;
        for (const input of Object.keys(job.with ?? {}))
          expect(trigger.inputs, `${id} with ${input}`).toHaveProperty([input]);
        for (const secret of Object.keys(job.secrets as object))
          expect(trigger.secrets, `${id} secret ${secret}`).toHaveProperty([secret]);
        for (const [calledId, calledJob] of Object.entries(called.jobs))
          for (const [scope, level] of Object.entries(calledJob.permissions as Record<string, string>))
            expect(
              (job.permissions as Record<string, string>)?.[scope],
              `${id} -> ${calledId} ${scope}`,
            ).toBe(level);
      }
    },
  );
});
