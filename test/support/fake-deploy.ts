// Deploys against a FakeHost (test/support/fake-executor.ts): the request, the log, and one call
// of the engine's runDeploy with a reconnect that opens a fresh connection to the same host.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import {
  DeployFailedError,
  runDeploy,
  type DeployContext,
  type DeployOutcome,
} from '../../actions/engine/deploy/deploy.js';
import { EventLog } from '../../actions/engine/events.js';
import type { ReadinessSettings } from '../../actions/engine/readiness/index.js';
import type { DeployRequest } from '../../actions/engine/types/deploy.js';
import { fakeDigest, FakeHost, type FakeExecutor } from './fake-executor.js';

export const ENVIRONMENT = 'staging';
export const PROJECT = 'hello-staging';
export const ENV_FILE = '.env.staging';

/** The example app's compose file, as deploy-staging sends it. */
export const COMPOSE_FILE = `services:
  app:
    image: \${APP_IMAGE:?APP_IMAGE must be set}
    env_file: ${ENV_FILE}
    ports:
      - '127.0.0.1:\${APP_HOST_PORT:-8080}:8080'
    restart: unless-stopped
  migrator:
    image: \${MIGRATOR_IMAGE:?MIGRATOR_IMAGE must be set}
    env_file: ${ENV_FILE}
    restart: 'no'
    profiles: [migrate]
  cache:
    image: redis:7
`;

export interface Release {
  name: string;
  sha: string;
  appImage: string;
  migratorImage: string;
}

/** A release with a made-up commit and digest-pinned images. */
export function release(name: string): Release {
  return {
    name,
    sha: createHash('sha1').update(name).digest('hex'),
    appImage: `registry.test/acme/hello@${fakeDigest(`app ${name}`)}`,
    migratorImage: `registry.test/acme/hello-migrator@${fakeDigest(`migrator ${name}`)}`,
  };
}

/** Short readiness: every test stays well under a second or two. */
export const READINESS: ReadinessSettings = {
  expectedStatus: '200',
  timeoutMs: 400,
  intervalMs: 20,
  backoff: 1,
  requestTimeoutMs: 200,
  consecutiveSuccesses: 1,
  headers: {},
  followRedirects: false,
  insecureTls: false,
};

/** The lines a deploy logged (`warning: `/`error: ` prefixed), with one-shot hooks on them. */
export class TestLog {
  readonly lines: string[] = [];
  readonly log: EventLog;
  private readonly watchers: Array<{ pattern: string | RegExp; act: (line: string) => void }> = [];

  constructor(environment = ENVIRONMENT) {
    const push = (prefix: string) => (message: string) => {
      const line = `${prefix}${message}`;
      this.lines.push(line);
      for (const watcher of [...this.watchers]) {
        const hit =
          typeof watcher.pattern === 'string' ? line.includes(watcher.pattern) : watcher.pattern.test(line);
        if (!hit) continue;
        this.watchers.splice(this.watchers.indexOf(watcher), 1);
        watcher.act(line);
      }
    };
    this.log = new EventLog(
      { info: push(''), warning: push('warning: '), error: push('error: '), mask: () => undefined },
      'text',
      { environment },
    );
  }

  /** Runs `act` once, on the first line containing (or matching) `pattern` from now on. */
  on(pattern: string | RegExp, act: (line: string) => void): void {
    this.watchers.push({ pattern, act });
  }

  get text(): string {
    return this.lines.join('\n');
  }
}

export interface DeployResult {
  outcome?: DeployOutcome;
  error?: Error;
  /** outcome, or the outcome a DeployFailedError carries. */
  recorded?: DeployOutcome;
  log: TestLog;
  executor: FakeExecutor;
}

type Overrides = {
  [K in keyof DeployRequest]?: Partial<DeployRequest[K]>;
};

/** One environment's deploy path on a fake host, with its app's readiness endpoint. */
export class DeployFixture {
  readonly host: FakeHost;
  readonly deployPath: string;

  private constructor(
    host: FakeHost,
    readonly url: string,
  ) {
    this.host = host;
    this.deployPath = host.deployPath('srv/hello', ENV_FILE);
  }

  static async create(host = new FakeHost()): Promise<DeployFixture> {
    return new DeployFixture(host, await host.serveApp(PROJECT, 'app'));
  }

  /** A copy of this fixture's host as it is now, with an app endpoint of its own (see FakeHost.clone). */
  copy(): Promise<DeployFixture> {
    return DeployFixture.create(this.host.clone());
  }

  request(rel: Release, overrides: Overrides = {}): DeployRequest {
    return {
      target: {
        environment: ENVIRONMENT,
        deployPath: this.deployPath,
        projectName: PROJECT,
        envFileName: ENV_FILE,
        services: { app: 'app', migrator: 'migrator', accessories: [] },
        composeCommand: 'auto',
        ...overrides.target,
      },
      release: {
        kind: 'deploy',
        sha: rel.sha,
        appImage: rel.appImage,
        migratorImage: rel.migratorImage,
        runMigrations: true,
        composeFileContent: COMPOSE_FILE,
        deployEnv: { APP_HOST_PORT: '8080' },
        ...overrides.release,
      },
      switching: { strategy: 'recreate' },
      policy: {
        readyStableForMs: 50,
        deployTimeoutMs: 30_000,
        lockTtlMs: 60_000,
        lockWaitMs: 300,
        keepReleases: 3,
        ...overrides.policy,
      },
      readiness: {
        settings: { ...READINESS, ...overrides.readiness?.settings },
        endpoint: overrides.readiness?.endpoint ?? { kind: 'url', url: this.url },
      },
      registry: overrides.registry as DeployRequest['registry'],
      run: {
        actor: 'alice',
        runId: '101',
        runUrl: 'https://github.com/acme/hello/actions/runs/101',
        ...overrides.run,
      },
    };
  }

  /** Runs the engine's deploy; never throws (the error is returned). */
  async deploy(
    rel: Release,
    options: {
      overrides?: Overrides;
      signal?: AbortSignal;
      log?: TestLog;
      executor?: FakeExecutor;
      reconnect?: DeployContext['reconnect'] | false;
      holds?: DeployContext['holds'];
      halt?: AbortSignal;
    } = {},
  ): Promise<DeployResult> {
    const log = options.log ?? new TestLog();
    const executor = options.executor ?? this.host.connect();
    const context: DeployContext = {
      executor,
      log: log.log,
      signal: options.signal,
      holds: options.holds,
      halt: options.halt,
      reconnect:
        options.reconnect === false
          ? undefined
          : (options.reconnect ?? (() => Promise.resolve().then(() => this.host.connect()))),
    };
    try {
      const outcome = await runDeploy(this.request(rel, options.overrides), context);
      return { outcome, recorded: outcome, log, executor };
    } catch (error) {
      return {
        error: error as Error,
        recorded: error instanceof DeployFailedError ? error.outcome : undefined,
        log,
        executor,
      };
    }
  }

  /** A deploy that must succeed (to set the scene). */
  async deployed(rel: Release): Promise<DeployOutcome> {
    const result = await this.deploy(rel);
    if (!result.outcome) throw new Error(`setting the scene: ${result.error?.message}\n${result.log.text}`);
    return result.outcome;
  }

  state() {
    return this.host.state(this.deployPath, ENVIRONMENT);
  }

  /** The statuses of the recorded attempts at one commit, newest first. */
  recordStatuses(sha: string): string[] {
    return this.state()
      .history.filter((record) => record.sha === sha)
      .map((record) => record.status);
  }

  lock() {
    return this.host.lock(this.deployPath);
  }

  runningImages(): string[] {
    return this.host.runningImages(PROJECT, 'app');
  }

  currentRelease(): string | undefined {
    return this.host.currentLink(this.deployPath)?.split('/').pop();
  }

  /** The release folders in .deployer/releases. */
  releaseDirs(): string[] {
    return listDir(`${this.deployPath}/.deployer/releases`);
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}
