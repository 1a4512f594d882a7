import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { parse } from 'yaml';
import {
  blueGreenServiceProblem,
  type ServiceConfig,
} from '../../actions/engine/deploy/blue-green-config.js';
import { repoRoot } from '../support/paths.js';

// Rules for deployer's reusable workflows and starters that no linter checks.

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; if?: string };
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
};
type Input = { type: string; required?: boolean; default?: unknown };
type Trigger = {
  inputs?: Record<string, Input>;
  secrets?: Record<string, { required?: boolean; description?: string }>;
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
    for (const [id, job] of jobs) {
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

  // The blue-green settings of deploy-staging and promote-prod, passed through as they are.
  const SWITCH_INPUTS = [
    'strategy',
    'proxy-address',
    'proxy-image',
    'proxy-container',
    'proxy-dir',
    'app-port',
    'drain-timeout',
  ];

  it.each([
    ['deploy-staging.yml', 'deploy', './.deployer/deploy-staging'],
    ['promote-prod.yml', 'promote', './.deployer/promote-prod'],
  ])(
    "%s takes the action's strategy and proxy inputs with the action's defaults and passes them on",
    (file, id, uses) => {
      const workflow = load(`.github/workflows/${file}`);
      const metadata = parse(
        readFileSync(`${repoRoot}${uses.slice('./.deployer/'.length)}/action.yml`, 'utf8'),
      ) as {
        inputs: Record<string, { default?: string }>;
      };
      const triggers = [workflow.on.workflow_call!, workflow.on.workflow_dispatch].filter(
        (trigger): trigger is Trigger => trigger !== undefined,
      );
      const step = workflow.jobs[id]!.steps!.find((s) => s.uses === uses)!;
      for (const name of SWITCH_INPUTS) {
        for (const trigger of triggers) {
          const input = trigger.inputs![name];
          expect(input, `${file} ${name}`).toMatchObject({ type: 'string' });
          expect(input!.default ?? '', `${file} ${name}`).toBe(metadata.inputs[name]!.default ?? '');
        }
        expect(step.with![name], `${file} ${name}`).toBe(`\${{ inputs.${name} }}`);
      }
      // Existing callers keep recreate.
      expect(workflow.on.workflow_call!.inputs!.strategy!.default).toBe('recreate');
    },
  );

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
      expect(job.uses, id).toMatch(/^acme\/deployer\/\.github\/workflows\/[a-z-]+\.yml@v1$/);
      const called = load(job.uses!.replace(/^acme\/deployer\//, '').replace(/@v1$/, ''));
      for (const [calledId, calledJob] of Object.entries(called.jobs))
        for (const [scope, level] of Object.entries(calledJob.permissions as Record<string, string>))
          expect((job.permissions as Record<string, string>)?.[scope], `${id} -> ${calledId} ${scope}`).toBe(
            level,
          );
    }
  });
});
