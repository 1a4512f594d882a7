// Types of the harness (plain JavaScript, so that the demo runs on Node 20 without a TypeScript step).
import type { GitHubApi } from './github-api.mjs';
export type { GitHubApi } from './github-api.mjs';
export { attestedStatement, recordedBy, startGitHubApi } from './github-api.mjs';

export interface HarnessEvent {
  type: 'workflow' | 'call' | 'job' | 'step' | 'warning';
  name?: string;
  job?: string;
  path?: string;
  event?: string;
  uses?: string;
  result?: 'started' | 'success' | 'failure' | 'skipped';
  outcome?: 'success' | 'failure' | 'skipped';
  ms?: number;
  log?: string;
  errors?: string[];
  summary?: string;
  outputs?: Record<string, string>;
  environment?: string;
  url?: string;
  concurrency?: string;
  message?: string;
  reason?: string;
}

export interface StepRecord {
  name: string;
  outcome: 'success' | 'failure' | 'skipped';
  ms: number;
  log?: string;
  errors?: string[];
  outputs?: Record<string, string>;
  summary?: string;
}

export interface JobResult {
  result: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
  steps?: StepRecord[];
  environment?: { name: string; url?: string };
  /** For a job that called a reusable workflow: that workflow's jobs. */
  jobs?: Record<string, JobResult>;
}

export interface WorkflowResult {
  result: 'success' | 'failure';
  jobs: Record<string, JobResult>;
  outputs: Record<string, string>;
}

export interface World {
  deployer: { repository: string; root: string; sha: string };
  repositories: Record<string, string>;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  environments?: Record<string, { secrets?: Record<string, string>; vars?: Record<string, string> }>;
  approve?: (environment: string) => boolean | Promise<boolean>;
  nodePath: string;
  workDir: string;
  reporter?: (event: HarnessEvent) => void;
  actor?: string;
  /** The local GitHub API runs talk to (GITHUB_API_URL); each job's GITHUB_TOKEN is granted its permissions there. */
  githubApi: Pick<GitHubApi, 'url' | 'grant'>;
}

export interface Trigger {
  repository: string;
  path: string;
  event: 'push' | 'workflow_dispatch';
  ref?: string;
  sha: string;
  inputs?: Record<string, string | boolean>;
  payload?: object;
}

export class WorkflowError extends Error {}

export class Harness {
  constructor(world: World);
  trigger(trigger: Trigger): Promise<WorkflowResult>;
}

export type Contexts = Record<string, unknown>;
export function evaluate(source: string, contexts: Contexts): unknown;
export function interpolate(value: unknown, contexts: Contexts): unknown;
export type StatusFunction = { name: string; minArgs: number; maxArgs: number; call: () => unknown };
export function statusFunctions(status: () => 'success' | 'failure'): StatusFunction[];
export function condition(source: unknown, contexts: Contexts, functions: StatusFunction[]): boolean;
export function splitTemplate(text: string): Array<{ text?: string; expression?: string }>;
export function parseKeyValueFile(path: string): Record<string, string>;
export function readWorkflowCommands(stdout: string): {
  visible: string;
  masks: string[];
  errors: string[];
  warnings: string[];
};
export function masker(values: string[]): (text: string) => string;

export interface SandboxFacts {
  sshHost: string;
  sshPort: number;
  sshUser: string;
  /** A deploy user whose `docker-compose` is Compose v1 (1.29). */
  sshUserComposeV1: string;
  sshKeyPath: string;
  sshKey: string;
  hostFingerprint: string;
  knownHosts: string;
  registry: string;
  registryUsername: string;
  registryPassword: string;
  baseImage: string;
  /** Debian's caddy (2.6.2 on bookworm) in an image built offline: the deploy proxy's image in the tests. */
  proxyImage: string;
  deployRoot: string;
  /** Debian's gitleaks (8.16 in trixie, prints no version), unpacked: a native binary for the tests. */
  gitleaksDebian: string;
  /**
   * Extra SSH hosts for multi-host deploys, in order: host i (from 1) is an sshd of its own on 127.0.0.(i+1),
   * same port, users and deploy key as the main one, with its own host key and deploy root. They all share
   * this machine's one Docker engine.
   */
  fleet: Array<{ host: string; port: number; fingerprint: string; deployRoot: string }>;
  /** known_hosts lines of the fleet (`[127.0.0.N]:port key`), one per host. */
  fleetKnownHosts: string;
}

export interface ChainEnvironment {
  deployPath: string;
  port: number;
  project: string;
}

/** The blue-green proxy of a chain's two environments on the sandbox host. */
export interface ChainProxy {
  container: string;
  dir: string;
}

export interface ChainPlan {
  unique: string;
  proxy: ChainProxy;
  repository: string;
  staging: ChainEnvironment;
  production: ChainEnvironment;
}

export interface ChainRun {
  sha: string;
  work: string;
  push: WorkflowResult;
  production: WorkflowResult | undefined;
}

export const DEPLOYER_REPOSITORY: string;
export const repoRoot: string;
export const demoStateFile: string;
export function readSandbox(): SandboxFacts;
export function freePort(): Promise<number>;
/** Runs a script as the deploy user on the sandbox host, over SSH with the host key checked; its stdout. */
export function onHost(sb: SandboxFacts, script: string, args?: string[]): string;
export const GIT_ENV: NodeJS.ProcessEnv;
export function git(dir: string, ...args: string[]): string;
export function planChain(sb: SandboxFacts, options?: { name?: string }): Promise<ChainPlan>;
export function runChain(
  sb: SandboxFacts,
  plan: ChainPlan,
  options: {
    githubApi: ChainOptions['githubApi'];
    reporter?: (event: HarnessEvent) => void;
    workDir?: string;
    approve?: (environment: string) => boolean;
  },
): Promise<ChainRun>;
export interface ChainOptions {
  /** The local GitHub API the chain's runs record deployments, statuses and attestations in. */
  githubApi: Pick<GitHubApi, 'url' | 'grant'>;
  reporter?: (event: HarnessEvent) => void;
  workDir?: string;
  approve?: (environment: string) => boolean;
  environments?: (
    environments: Record<string, { secrets?: Record<string, string> }>,
  ) => Record<string, { secrets?: Record<string, string> }>;
}
export interface Chain {
  work: string;
  repository: string;
  /** The commit that puts the starters on the sandbox's proxy (startersOnSandbox): the first to deploy. */
  sha: string;
  commit(files: Record<string, string>, message: string): string;
  push(sha: string): Promise<WorkflowResult>;
  dispatch(inputs: Record<string, string | boolean>): Promise<WorkflowResult>;
}
export function createChain(sb: SandboxFacts, plan: ChainPlan, options: ChainOptions): Chain;
export function prepareEnvironment(sb: SandboxFacts, deployPath: string, greeting: string): void;
export function destroyEnvironment(sb: SandboxFacts, deployPath: string, project: string): void;
export function destroyProxy(sb: SandboxFacts, proxy: ChainProxy): void;
export function destroyChain(
  sb: SandboxFacts,
  plan: Pick<ChainPlan, 'staging' | 'production'> & { proxy?: ChainProxy },
  report?: (part: string, error?: Error) => void,
): void;
export function startersOnSandbox(
  repository: string,
  sb: SandboxFacts,
  plan: ChainPlan,
): Record<string, string>;
export function projectName(deployPath: string, environment: string): string;
export function makeUserRepository(workDir: string): { dir: string; sha: string };
export function readDemoState(): unknown;
