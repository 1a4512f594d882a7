import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildx, parseBuilderDriver, parseBuildMetadata, parseRawManifest } from '../commands/buildx.js';
import { docker, parseManifestInspect, parsePushDigest } from '../commands/docker.js';
import { classifyRegistryFailure, dockerErrorLine, type RemoteManifest } from '../commands/registry.js';
import { CommandError, lastLines, type Executor, type RunOptions } from '../exec/executor.js';
import { describeDifference, readSavedImage } from './content.js';
import { TemporaryDockerConfig } from './docker-config.js';
import {
  checkPlatforms,
  decideCache,
  planRelease,
  type ImagePlan,
  type ReleasePlan,
  type ReleaseRequest,
  type Revision,
  type Role,
  type Tooling,
} from './plan.js';
import { lineSplitter } from '../lines.js';

export interface Reporter {
  info(message: string): void;
  warning(message: string): void;
  /** Runs `fn` inside a collapsible log group (groups do not nest). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Runs `fn`, whose output() is someone else's text (build logs): it must not issue workflow commands. */
  untrusted<T>(fn: () => Promise<T>): Promise<T>;
  /** Raw tool output (build progress), passed through to the log. */
  output(chunk: string): void;
}

export interface PublishOptions {
  push: boolean;
  cache: boolean;
  credentials?: { username: string; password: string };
  /** Where the temporary Docker config lives (RUNNER_TEMP). */
  tempDir: string;
  env?: NodeJS.ProcessEnv;
}

export type Outcome = 'pushed' | 'already-published' | 'built';

export interface ImageResult {
  role: Role;
  repository: string;
  /** `repository:tag`. */
  reference: string;
  /** Manifest digest in the registry; the image ID when nothing was pushed (push: false). */
  digest: string;
  /** `repository@digest`, or `repository:tag` for a local-only build. */
  pinned: string;
  outcome: Outcome;
  labels: Record<string, string>;
  note?: string;
}

export interface ReleaseResult {
  plan: ReleasePlan;
  tooling: Tooling;
  images: ImageResult[];
}

/** The registry could not be used (down, unknown, wrong credentials): nothing was built. */
export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** The tag already names different content: nothing was pushed. */
export class ReleaseRefusedError extends Error {
  override name = 'ReleaseRefusedError';
}

export class BuildError extends Error {
  override name = 'BuildError';
}

type Verdict = { same: true; how: string } | { same: false; why: string };

/**
 * Like Promise.all, but on the first failure calls `onFailure` (to stop the others) and still waits
 * for every promise to settle: no docker command may outlive the temporary config it uses.
 */
export async function allOrNothing<T extends readonly unknown[]>(
  promises: [...{ [K in keyof T]: Promise<T[K]> | T[K] }],
  onFailure: () => void = () => {},
): Promise<T> {
  let first: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    promises.map((promise) =>
      Promise.resolve(promise).catch((error: unknown) => {
        if (!first) {
          first = { error };
          onFailure();
        }
        throw error;
      }),
    ),
  );
  if (first) throw first.error;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Splits streamed output into lines and prefixes each, so two builds at once stay readable. */
export function linePrefixer(prefix: string, write: (text: string) => void) {
  return lineSplitter((line) => write(`${prefix}${line}\n`));
}

export async function detectTooling(executor: Executor, env: Record<string, string>): Promise<Tooling> {
  const run = (argv: string[]) =>
    executor.run(argv, { env, check: false }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error('docker is not installed on this runner (or not on PATH)');
      throw error;
    });
  const inspect = await run(buildx.inspectBuilder());
  if (inspect.code === 0) return { kind: 'buildx', driver: parseBuilderDriver(inspect.stdout) ?? 'unknown' };
  if ((await run(buildx.version())).code !== 0) return { kind: 'classic' };
  throw new Error(`docker buildx cannot use its current builder: ${dockerErrorLine(inspect.stderr)}`);
}

/**
 * Builds the app and migrator images of one commit and publishes them under its sha tag, never
 * moving a tag that already names other content. Everything Docker needs to log in lives in a
 * temporary config that is removed on every way out.
 */
export async function publishRelease(
  request: ReleaseRequest,
  revision: Revision,
  options: PublishOptions,
  executor: Executor,
  reporter: Reporter,
): Promise<ReleaseResult> {
  const scratch = TemporaryDockerConfig.create(
    options.tempDir,
    request.registry,
    Boolean(options.credentials),
    options.env,
  );
  try {
    return await new Release(request, revision, options, executor, reporter, scratch).run();
  } finally {
    scratch.remove();
  }
}

class Release {
  private tooling: Tooling = { kind: 'classic' };
  private plan!: ReleasePlan;
  private step = 0;

  constructor(
    private readonly request: ReleaseRequest,
    private readonly revision: Revision,
    private readonly options: PublishOptions,
    private readonly executor: Executor,
    private readonly reporter: Reporter,
    private readonly scratch: TemporaryDockerConfig,
  ) {}

  async run(): Promise<ReleaseResult> {
    const { credentials } = this.options;
    [this.tooling] = await allOrNothing([
      detectTooling(this.executor, this.scratch.env),
      credentials ? this.login(credentials) : undefined,
    ]);
    this.reporter.info(
      this.tooling.kind === 'buildx'
        ? `Building with docker buildx (builder driver: ${this.tooling.driver}).`
        : 'docker buildx is not installed: building with `docker build` and pushing with `docker push`.',
    );
    checkPlatforms(this.request.platforms, this.tooling);
    const cache = decideCache(this.options.cache, this.tooling, this.options.env ?? process.env);
    if (cache.warning) this.reporter.warning(cache.warning);
    this.plan = planRelease(this.request, this.revision, {
      sourceDateEpoch: this.tooling.kind === 'buildx',
      cache: cache.use,
    });
    const images = this.plan.images;

    if (!this.options.push) {
      const ids = await this.inParallel('Build', images, (image, signal) => this.buildLocally(image, signal));
      return {
        plan: this.plan,
        tooling: this.tooling,
        images: images.map((image, index) =>
          this.result(image, ids[index]!, image.reference, 'built', 'push is false: built, not pushed'),
        ),
      };
    }

    const published = await allOrNothing(images.map((image) => this.lookUp(image.reference)));
    const present = images.filter((_, index) => published[index]);
    const remoteOf = (image: ImagePlan) => published[images.indexOf(image)]!;
    for (const image of present)
      this.reporter.info(`${image.reference} is in the registry (${remoteOf(image).digest}): comparing.`);
    const verdicts = await this.inParallel('Build to compare with the registry', present, (image, signal) =>
      this.compare(image, remoteOf(image), signal),
    );

    const results = new Map<Role, ImageResult>();
    const refusals: string[] = [];
    present.forEach((image, index) => {
      const verdict = verdicts[index]!;
      const remote = remoteOf(image);
      if (!verdict.same) {
        refusals.push(`${image.reference} (${remote.digest}): ${verdict.why}`);
        return;
      }
      this.reporter.info(
        `${image.reference} is already in the registry with this content (${verdict.how}): not pushed.`,
      );
      results.set(
        image.role,
        this.result(
          image,
          remote.digest,
          `${image.repository}@${remote.digest}`,
          'already-published',
          verdict.how,
        ),
      );
    });
    if (refusals.length) {
      throw new ReleaseRefusedError(
        `Refusing to overwrite: the tag ${this.plan.tag} already names different content in the registry.\n` +
          refusals.map((line) => `  - ${line}`).join('\n') +
          `\nNothing was pushed; the registry is unchanged. A sha tag names one build for good: release a new commit instead.`,
      );
    }

    const absent = images.filter((image) => !results.has(image.role));
    const digests = await this.inParallel('Build and push', absent, (image, signal) =>
      this.buildAndPush(image, signal),
    );
    absent.forEach((image, index) => {
      const digest = digests[index]!;
      this.reporter.info(`Pushed ${image.repository}@${digest}`);
      results.set(image.role, this.result(image, digest, `${image.repository}@${digest}`, 'pushed'));
    });
    return {
      plan: this.plan,
      tooling: this.tooling,
      images: images.map((image) => results.get(image.role)!),
    };
  }

  /**
   * Runs `work` for the images at the same time, in one log group. When one fails the others are
   * stopped, so a failed release pushes as little as possible.
   */
  private async inParallel<T>(
    title: string,
    images: ImagePlan[],
    work: (image: ImagePlan, signal: AbortSignal) => Promise<T>,
  ): Promise<T[]> {
    if (!images.length) return [];
    const siblings = new AbortController();
    const signal = AbortSignal.any([this.scratch.signal, siblings.signal]);
    const names = images.map((image) => `${image.role} (target ${image.spec.target})`).join(' and ');
    return this.reporter.group(`${title}: ${names}`, () =>
      this.reporter.untrusted(() =>
        allOrNothing(
          images.map((image) => work(image, signal)),
          () => siblings.abort(),
        ),
      ),
    );
  }

  private result(
    image: ImagePlan,
    digest: string,
    pinned: string,
    outcome: Outcome,
    note?: string,
  ): ImageResult {
    return {
      role: image.role,
      repository: image.repository,
      reference: image.reference,
      digest,
      pinned,
      outcome,
      labels: image.spec.labels,
      note,
    };
  }

  private docker(argv: string[], options: RunOptions = {}) {
    return this.executor.run(argv, {
      ...options,
      env: { ...this.scratch.env, ...options.env },
      signal: options.signal ?? this.scratch.signal,
    });
  }

  private redact(text: string): string {
    const password = this.options.credentials?.password;
    return password ? text.split(password).join('***') : text;
  }

  private async login(credentials: { username: string; password: string }): Promise<void> {
    const { registry } = this.request;
    const login = await this.docker(docker.login(registry, credentials.username), {
      stdin: credentials.password,
      check: false,
    });
    if (login.code === 0) {
      this.reporter.info(`Logged in to ${registry} as ${credentials.username} (temporary Docker config).`);
      return;
    }
    const line = this.redact(dockerErrorLine(login.stderr));
    switch (classifyRegistryFailure(login.stderr)) {
      case 'unreachable':
        throw new RegistryError(
          `Registry ${registry} does not answer (${line}). Check the registry input and that this runner can reach it. Nothing was built.`,
        );
      case 'unauthorized':
        throw new RegistryError(
          `Registry ${registry} refused the login of "${credentials.username}": wrong registry-username or registry-password, or the token may not push there (${line}). Nothing was built.`,
        );
      default:
        throw new RegistryError(`Logging in to registry ${registry} failed: ${line}. Nothing was built.`);
    }
  }

  /** The manifest the registry serves for `reference`, or undefined when the tag does not exist. */
  private async lookUp(reference: string): Promise<RemoteManifest | undefined> {
    const { registry } = this.plan;
    const argv =
      this.tooling.kind === 'buildx'
        ? buildx.imagetoolsRaw(reference)
        : docker.manifestInspect(reference, registry);
    const found = await this.docker(argv, { check: false });
    if (found.code === 0)
      return this.tooling.kind === 'buildx'
        ? parseRawManifest(found.stdout)
        : parseManifestInspect(found.stdout);
    const line = this.redact(dockerErrorLine(found.stderr));
    switch (classifyRegistryFailure(found.stderr)) {
      case 'absent':
        this.reporter.info(`${reference} is not in the registry yet.`);
        return undefined;
      case 'unreachable':
        throw new RegistryError(
          `Registry ${registry} does not answer (${line}). Check the registry input and that this runner can reach it. Nothing was built.`,
        );
      case 'unauthorized':
        throw new RegistryError(
          `Registry ${registry} will not show ${reference} (${line}). ` +
            (this.options.credentials
              ? 'The registry-username may not read that repository.'
              : 'Set registry-username and registry-password.') +
            ' Nothing was built.',
        );
      default:
        throw new RegistryError(
          `Looking up ${reference} in registry ${registry} failed: ${line}. Nothing was built.`,
        );
    }
  }

  /** Runs one docker command of `image`'s build, its output streamed line by line under the image's name. */
  private async build(
    image: ImagePlan,
    argv: string[],
    signal: AbortSignal,
    env: Record<string, string> = {},
  ) {
    const output = linePrefixer(`[${image.role}] `, (text) => this.reporter.output(text));
    try {
      return await this.docker(argv, {
        env,
        signal,
        onStdout: (chunk) => output.push(chunk),
        onStderr: (chunk) => output.push(chunk),
      });
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      const text = error.result.stderr || error.result.stdout;
      throw new BuildError(
        `Building the ${image.role} image (target ${image.spec.target}) failed with exit code ${error.result.code}:\n${this.redact(lastLines(text, 20))}`,
      );
    } finally {
      output.flush();
    }
  }

  private scratchFile(name: string): string {
    this.step += 1;
    return join(this.scratch.work, `${this.step}-${name}`);
  }

  /** Builds into the local Docker image store; returns the image ID (= config digest). */
  private async buildLocally(image: ImagePlan, signal: AbortSignal): Promise<string> {
    if (this.tooling.kind === 'buildx') {
      const metadataFile = this.scratchFile(`${image.role}-metadata.json`);
      await this.build(image, buildx.build(image.spec, 'load', metadataFile), signal);
      const metadata = parseBuildMetadata(readFileSync(metadataFile, 'utf8'));
      const id = metadata.configDigest ?? metadata.digest;
      if (!id) throw new BuildError(`buildx reported no image id for the ${image.role} image`);
      return id;
    }
    const idFile = this.scratchFile(`${image.role}.iid`);
    await this.build(image, docker.build(image.spec, idFile), signal, { DOCKER_BUILDKIT: '0' });
    return readFileSync(idFile, 'utf8').trim();
  }

  private async buildAndPush(image: ImagePlan, signal: AbortSignal): Promise<string> {
    if (this.tooling.kind === 'classic') {
      await this.buildLocally(image, signal);
      const pushed = await this.build(image, docker.push(image.reference), signal);
      const digest = parsePushDigest(pushed.stdout);
      if (!digest) throw new BuildError(`docker push printed no digest for ${image.reference}`);
      return digest;
    }
    const metadataFile = this.scratchFile(`${image.role}-metadata.json`);
    await this.build(image, buildx.build(image.spec, 'push', metadataFile), signal);
    const digest = parseBuildMetadata(readFileSync(metadataFile, 'utf8')).digest;
    if (!digest) throw new BuildError(`buildx reported no manifest digest for ${image.reference}`);
    return digest;
  }

  /**
   * Same content? First by image config digest (identical builds: cheap); when that differs, by what
   * the two images hold, ignoring times: pulls the registry's image (reading only) and compares files.
   */
  private async compare(image: ImagePlan, remote: RemoteManifest, signal: AbortSignal): Promise<Verdict> {
    if (remote.isIndex || !remote.configDigest)
      return {
        same: false,
        why: 'the registry holds a multi-platform index there; this release is one image per tag',
      };
    if (this.request.platforms.length > 1)
      return {
        same: false,
        why: 'a multi-platform build cannot be compared with the registry image locally',
      };
    const localId = await this.buildLocally(image, signal);
    if (localId === remote.configDigest) return { same: true, how: 'identical image config' };

    const remoteRef = `${image.repository}@${remote.digest}`;
    const hadIt = (await this.docker(docker.imageExists(remoteRef), { check: false, signal })).code === 0;
    try {
      const pulled = await this.docker(docker.pull(remoteRef), { check: false, signal });
      if (pulled.code !== 0)
        throw new RegistryError(
          `Pulling ${remoteRef} to compare it failed: ${this.redact(dockerErrorLine(pulled.stderr))}`,
        );
      const publishedFile = this.scratchFile(`${image.role}-published.tar`);
      const builtFile = this.scratchFile(`${image.role}-built.tar`);
      await this.docker(docker.save(remote.configDigest, publishedFile), { signal });
      await this.docker(docker.save(localId, builtFile), { signal });
      const difference = describeDifference(
        await readSavedImage(publishedFile),
        await readSavedImage(builtFile),
      );
      rmSync(publishedFile, { force: true });
      rmSync(builtFile, { force: true });
      return difference
        ? { same: false, why: difference }
        : { same: true, how: 'same files, modes, owners and config; only timestamps differ' };
    } finally {
      if (!hadIt) await this.docker(docker.removeImage(remoteRef), { check: false });
    }
  }
}
