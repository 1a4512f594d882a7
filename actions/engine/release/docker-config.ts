import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// A Docker config directory that lives only as long as the action: `docker login` writes the
// registry password into it (base64 in config.json), so it must never be the runner's own.

/** Contexts and CLI plugins the runner set up stay usable (linked, read only). */
const SHARED_ENTRIES = ['contexts', 'cli-plugins'];

const DOCKER_HUB = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

function registryHost(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return DOCKER_HUB.includes(host) ? 'docker.io' : host;
}

/**
 * The runner's config.json as the temporary one starts: everything kept (other registries' logins,
 * proxies, the current context) except, when we log in ourselves, the credential store (login would
 * write the password there, outside the temporary directory) and any entry for our registry.
 */
export function temporaryConfigContent(
  original: Record<string, unknown> | undefined,
  registry: string,
  loggingIn: boolean,
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...(original ?? {}) };
  if (!loggingIn) return config;
  const ours = registryHost(registry);
  const without = (entries: unknown) =>
    Object.fromEntries(
      Object.entries((entries as Record<string, unknown> | undefined) ?? {}).filter(
        ([key]) => registryHost(key) !== ours,
      ),
    );
  delete config.credsStore;
  config.auths = without(config.auths);
  if (config.credHelpers) config.credHelpers = without(config.credHelpers);
  return config;
}

export function runnerDockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(homedir(), '.docker');
}

export class TemporaryDockerConfig {
  private removed = false;
  private readonly onExit = () => this.remove();
  private readonly cancellation = new AbortController();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    // A cancelled job: stop the docker commands (which hold the credentials in memory) and clean up.
    this.cancellation.abort();
    this.remove();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  /** DOCKER_CONFIG for every docker command of the run. */
  readonly dockerConfig: string;
  /** Scratch files of the run (build metadata, saved images): removed with the config. */
  readonly work: string;

  private constructor(readonly dir: string) {
    this.dockerConfig = join(dir, 'docker');
    this.work = join(dir, 'work');
    process.once('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Creates `<parent>/release-image-XXXXXX/{docker,work}` (mode 0700), the config seeded from the runner's. */
  static create(
    parent: string,
    registry: string,
    loggingIn: boolean,
    env: NodeJS.ProcessEnv = process.env,
  ): TemporaryDockerConfig {
    mkdirSync(parent, { recursive: true });
    const temporary = new TemporaryDockerConfig(mkdtempSync(join(parent, 'release-image-')));
    mkdirSync(temporary.dockerConfig, { mode: 0o700 });
    mkdirSync(temporary.work, { mode: 0o700 });
    const runnerDir = runnerDockerConfigDir(env);
    let original: Record<string, unknown> | undefined;
    try {
      original = JSON.parse(readFileSync(join(runnerDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      original = undefined;
    }
    writeFileSync(
      join(temporary.dockerConfig, 'config.json'),
      JSON.stringify(temporaryConfigContent(original, registry, loggingIn), null, 2),
      { mode: 0o600 },
    );
    // buildx keeps its builders (docker/setup-buildx-action's too) and writes its state outside: a
    // buildx process still ending after a cancellation must not re-create the removed directory.
    temporary.buildxConfig = env.BUILDX_CONFIG || join(runnerDir, 'buildx');
    for (const entry of SHARED_ENTRIES) {
      const source = join(runnerDir, entry);
      if (existsSync(source)) symlinkSync(source, join(temporary.dockerConfig, entry));
    }
    return temporary;
  }

  /** Aborted when the job is cancelled (SIGINT / SIGTERM): pass to every command of the run. */
  get signal(): AbortSignal {
    return this.cancellation.signal;
  }

  private buildxConfig = '';

  /** Environment for every docker command of the run. */
  get env(): Record<string, string> {
    return { DOCKER_CONFIG: this.dockerConfig, BUILDX_CONFIG: this.buildxConfig };
  }

  /** Removes the directory (symlinks only, never what they point to). Safe to call twice. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    rmSync(this.dir, { recursive: true, force: true });
    process.removeListener('exit', this.onExit);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
  }
}
