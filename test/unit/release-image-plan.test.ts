import { describe, expect, it } from 'vitest';
import { git } from '../../actions/engine/commands/git.js';
import {
  describeDifference,
  runtimeConfig,
  type ImageContent,
} from '../../actions/engine/release/content.js';
import { temporaryConfigContent } from '../../actions/engine/release/docker-config.js';
import {
  checkExtras,
  checkPlatforms,
  decideCache,
  planRelease,
  repositoryPath,
  type ReleaseRequest,
} from '../../actions/engine/release/plan.js';
import { allOrNothing, linePrefixer, type ReleaseResult } from '../../actions/engine/release/release.js';
import {
  commitTimeFrom,
  commitTimeFromEvent,
  pickSha,
  releaseTag,
} from '../../actions/engine/release/revision.js';
import { renderSummary } from '../../actions/engine/release/summary.js';

const HEAD = 'a'.repeat(40);
const MERGE = 'b'.repeat(40);

describe('which commit a release is', () => {
  it('tags the pull request head commit, not the merge commit GITHUB_SHA names', () => {
    const event = { pull_request: { head: { sha: HEAD.toUpperCase() } } };
    for (const eventName of ['pull_request', 'pull_request_target'])
      expect(pickSha({ eventName, event, githubSha: MERGE })).toMatchObject({ sha: HEAD });
    expect(pickSha({ eventName: 'push', event, githubSha: MERGE }).sha).toBe(MERGE);
    expect(pickSha({ input: 'C'.repeat(40), eventName: 'pull_request', event, githubSha: MERGE }).sha).toBe(
      'c'.repeat(40),
    );
    expect(() => pickSha({ eventName: 'push', event: {}, githubSha: 'HEAD' })).toThrow(/set the sha input/);
  });

  it('makes sha-<40 hex> tags, or the 7-character short form', () => {
    expect(releaseTag(HEAD, false)).toBe(`sha-${HEAD}`);
    expect(releaseTag(HEAD, true)).toBe('sha-aaaaaaa');
  });

  it('reads commit times as UTC and epoch seconds', () => {
    expect(commitTimeFrom('2024-03-01T12:34:56+01:00\n', 'git')).toEqual({
      iso: '2024-03-01T11:34:56Z',
      epoch: 1709292896,
      from: 'git',
    });
    expect(commitTimeFrom('', 'git')).toBeUndefined();
    expect(commitTimeFrom('yesterday', 'git')).toBeUndefined();
    expect(git.commitTime(HEAD)).toEqual(['git', 'show', '--no-patch', '--format=%cI', HEAD, '--']);
  });

  it("uses the push event's head_commit time only for that very commit", () => {
    const event = { head_commit: { id: HEAD, timestamp: '2024-01-02T03:04:05Z' } };
    expect(commitTimeFromEvent(event, HEAD)?.iso).toBe('2024-01-02T03:04:05Z');
    expect(commitTimeFromEvent(event, MERGE)).toBeUndefined();
    expect(commitTimeFromEvent({}, HEAD)).toBeUndefined();
  });
});

const request: ReleaseRequest = {
  registry: 'ghcr.io',
  appRepository: 'acme/hello',
  migratorRepository: 'acme/hello-migrator',
  context: '/w',
  dockerfile: '/w/Dockerfile',
  appTarget: 'runner',
  migratorTarget: 'migrator',
  buildArgs: { BASE_IMAGE: 'busybox' },
  labels: { team: 'core', 'org.opencontainers.image.source': 'https://example.com/fork' },
  platforms: [],
  noCache: false,
};
const revision = {
  sha: HEAD,
  tag: `sha-${HEAD}`,
  created: { iso: '2024-03-01T11:34:56Z', epoch: 1709292896, from: 'git' },
  sourceUrl: 'https://github.com/acme/hello',
};

describe('the release plan', () => {
  it('builds two targets of one Dockerfile under one tag, linked by labels', () => {
    const plan = planRelease(request, revision, { sourceDateEpoch: true, cache: false });
    const [app, migrator] = plan.images;
    expect(app.reference).toBe(`ghcr.io/acme/hello:sha-${HEAD}`);
    expect(migrator.reference).toBe(`ghcr.io/acme/hello-migrator:sha-${HEAD}`);
    expect([app.spec.target, migrator.spec.target]).toEqual(['runner', 'migrator']);
    for (const image of plan.images) {
      expect(image.spec.labels).toMatchObject({
        'org.opencontainers.image.created': '2024-03-01T11:34:56Z',
        'org.opencontainers.image.revision': HEAD,
        'deployer.release.app': app.reference,
        'deployer.release.migrator': migrator.reference,
        'deployer.release.role': image.role,
        team: 'core',
        // The source label is the one a user may set (forks, mirrors).
        'org.opencontainers.image.source': 'https://example.com/fork',
      });
      expect(image.spec.buildArgs).toEqual({ BASE_IMAGE: 'busybox', SOURCE_DATE_EPOCH: '1709292896' });
      expect(image.spec.cacheScope).toBeUndefined();
    }
  });

  it('leaves SOURCE_DATE_EPOCH out for the legacy builder and scopes caches per image', () => {
    const plan = planRelease(request, revision, { sourceDateEpoch: false, cache: true });
    expect(plan.images[0].spec.buildArgs).toEqual({ BASE_IMAGE: 'busybox' });
    expect(plan.images.map((image) => image.spec.cacheScope)).toEqual([
      'deployer-app-acme-hello',
      'deployer-migrator-acme-hello',
    ]);
  });

  it('accepts repository paths with or without the registry and rejects bad ones by input name', () => {
    expect(repositoryPath('ghcr.io/acme/hello', 'ghcr.io', 'app-image')).toBe('acme/hello');
    expect(repositoryPath('acme/hello', 'ghcr.io', 'app-image')).toBe('acme/hello');
    expect(() => repositoryPath('Acme/Hello', 'ghcr.io', 'app-image')).toThrow(
      /Invalid input "app-image": expected a repository name/,
    );
    expect(() => repositoryPath('acme/hello:latest', 'ghcr.io', 'migrator-image')).toThrow(
      /Invalid input "migrator-image"/,
    );
    expect(() => repositoryPath(`a/${'b'.repeat(260)}`, 'ghcr.io', 'app-image')).toThrow(/255/);
  });

  it('keeps the labels and build arguments it owns', () => {
    expect(() => checkExtras({ 'org.opencontainers.image.created': 'now' }, {})).toThrow(
      /Invalid input "labels": org.opencontainers.image.created is set by the action/,
    );
    expect(() => checkExtras({}, { SOURCE_DATE_EPOCH: '1' })).toThrow(/Invalid input "build-args"/);
    expect(() => checkExtras({}, { 'BAD-NAME': '1' })).toThrow(/Invalid input "build-args"/);
    expect(() => checkExtras({ ' x': '1' }, {})).toThrow(/Invalid input "labels"/);
    expect(() => checkExtras({ 'com.example.team': 'core' }, { NODE_ENV: 'production' })).not.toThrow();
  });

  it('asks for a capable builder before building several platforms', () => {
    const docker = { kind: 'buildx', driver: 'docker' } as const;
    expect(() => checkPlatforms(['linux/amd64', 'linux/arm64'], docker)).toThrow(
      /Invalid input "platforms": .*docker driver/,
    );
    expect(() => checkPlatforms(['linux/amd64', 'linux/arm64'], { kind: 'classic' })).toThrow(/platforms/);
    expect(() => checkPlatforms(['linux/amd64'], docker)).not.toThrow();
    expect(() =>
      checkPlatforms(['linux/amd64', 'linux/arm64'], { kind: 'buildx', driver: 'docker-container' }),
    ).not.toThrow();
  });

  it('uses the GitHub Actions cache only where it can work, and says why not', () => {
    const service = { ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_CACHE_URL: 'http://127.0.0.1/' };
    const container = { kind: 'buildx', driver: 'docker-container' } as const;
    expect(decideCache(false, container, service)).toEqual({ use: false });
    expect(decideCache(true, container, service)).toEqual({ use: true });
    expect(decideCache(true, { kind: 'buildx', driver: 'docker' }, service)).toMatchObject({
      use: false,
      warning: expect.stringMatching(/docker driver/),
    });
    expect(decideCache(true, { kind: 'classic' }, service).warning).toMatch(/buildx is not installed/);
    expect(decideCache(true, container, {}).warning).toMatch(/ACTIONS_RUNTIME_TOKEN/);
  });
});

describe('the temporary Docker config', () => {
  const runner = {
    auths: { 'ghcr.io': { auth: 'old' }, 'https://index.docker.io/v1/': { auth: 'hub' } },
    credsStore: 'desktop',
    credHelpers: { 'ghcr.io': 'gh', 'gcr.io': 'gcloud' },
    currentContext: 'remote',
    proxies: { default: { httpProxy: 'http://127.0.0.1:3128' } },
  };

  it('keeps other logins, the context and proxies, but nothing that would store or shadow our login', () => {
    const config = temporaryConfigContent(runner, 'ghcr.io', true);
    expect(config.credsStore).toBeUndefined();
    expect(config.auths).toEqual({ 'https://index.docker.io/v1/': { auth: 'hub' } });
    expect(config.credHelpers).toEqual({ 'gcr.io': 'gcloud' });
    expect(config.currentContext).toBe('remote');
    expect(config.proxies).toEqual(runner.proxies);
  });

  it('treats Docker Hub aliases as one registry, and keeps everything when not logging in', () => {
    expect(temporaryConfigContent(runner, 'docker.io', true).auths).toEqual({ 'ghcr.io': { auth: 'old' } });
    expect(temporaryConfigContent(runner, 'ghcr.io', false)).toEqual(runner);
    expect(temporaryConfigContent(undefined, 'ghcr.io', true)).toEqual({ auths: {} });
  });
});

describe('same content, ignoring times', () => {
  const file = (path: string, sha256: string, extra = {}) => ({
    path,
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 10,
    sha256,
    ...extra,
  });
  const image = (over: Partial<ImageContent> = {}): ImageContent => ({
    config: { os: 'linux', architecture: 'amd64', Env: ['PORT=8080'], Cmd: ['/app/serve.sh'] },
    layers: [[file('/app/serve.sh', '1'), file('/app/handle.sh', '2')]],
    ...over,
  });

  it('sees no difference between equal images', () => {
    expect(describeDifference(image(), image())).toBeUndefined();
  });

  it('names what differs: config, layer count, files, modes, content', () => {
    expect(describeDifference(image(), image({ config: { ...image().config, Env: ['PORT=9090'] } }))).toBe(
      `Env differ: the registry's image has ["PORT=8080"], this build has ["PORT=9090"]`,
    );
    expect(describeDifference(image(), image({ config: { ...image().config, User: 'app' } }))).toMatch(
      /^User differs/,
    );
    expect(describeDifference(image(), image({ layers: [...image().layers, []] }))).toMatch(
      /1 layers, this build has 2/,
    );
    expect(
      describeDifference(
        image(),
        image({ layers: [[file('/app/serve.sh', '9'), file('/app/handle.sh', '2')]] }),
      ),
    ).toBe('layer 1 of 1: /app/serve.sh differs (content)');
    expect(
      describeDifference(
        image(),
        image({ layers: [[file('/app/serve.sh', '1', { mode: 0o644 }), file('/app/handle.sh', '2')]] }),
      ),
    ).toBe('layer 1 of 1: /app/serve.sh differs (mode)');
    expect(describeDifference(image(), image({ layers: [[file('/app/serve.sh', '1')]] }))).toBe(
      'layer 1 of 1: /app/handle.sh is missing from this build',
    );
    expect(
      describeDifference(image(), image({ layers: [[...image().layers[0]!, file('/app/new', '3')]] })),
    ).toBe('layer 1 of 1: /app/new is new in this build');
  });

  it('compares only what changes how a container runs, never times or layer ids', () => {
    const config = {
      created: '2026-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      container: 'abc123',
      config: {
        Env: ['A=1'],
        Cmd: ['x'],
        Hostname: 'abc123',
        Image: 'sha256:parent',
        Labels: { a: 'b' },
        Volumes: null,
      },
      rootfs: { type: 'layers', diff_ids: ['sha256:1'] },
      history: [{ created: '2026-01-01T00:00:00Z', created_by: 'COPY' }],
    };
    expect(runtimeConfig(config)).toEqual({
      architecture: 'amd64',
      os: 'linux',
      Env: ['A=1'],
      Cmd: ['x'],
      Labels: { a: 'b' },
    });
  });
});

describe('the job summary', () => {
  it('shows both images with pinned references, digests, results and labels', () => {
    const plan = planRelease(request, revision, { sourceDateEpoch: true, cache: false });
    const digest = `sha256:${'1'.repeat(64)}`;
    const result: ReleaseResult = {
      plan,
      tooling: { kind: 'buildx', driver: 'docker' },
      images: plan.images.map((image, index) => ({
        role: image.role,
        repository: image.repository,
        reference: image.reference,
        digest,
        pinned: `${image.repository}@${digest}`,
        outcome: index === 0 ? 'pushed' : 'already-published',
        labels: { ...image.spec.labels, tricky: 'a|b' },
        note: index === 0 ? undefined : 'identical image config',
      })),
    };
    const markdown = renderSummary(result);
    expect(markdown).toContain(`| app | \`ghcr.io/acme/hello@${digest}\` | \`${digest}\` | pushed |`);
    expect(markdown).toContain('already in the registry (not pushed) (identical image config)');
    expect(markdown).toContain(`| \`org.opencontainers.image.revision\` | \`${HEAD}\` |`);
    expect(markdown).toContain('a\\|b');
  });
});

describe('running two builds at once', () => {
  it('prefixes every line of streamed output, however it is chunked', () => {
    const written: string[] = [];
    const output = linePrefixer('[app] ', (text) => written.push(text));
    output.push('#1 load');
    output.push(' context\n#2 DO');
    output.push('NE\n\n#3 last');
    output.flush();
    expect(written.join('')).toBe('[app] #1 load context\n[app] #2 DONE\n[app] \n[app] #3 last\n');
  });

  it('on the first failure stops the others, waits for all of them, and reports that first failure', async () => {
    const events: string[] = [];
    let stop: () => void = () => {};
    // Like a docker command asked to stop: it ends a moment later, not at once.
    const sibling = new Promise<string>((resolve) => (stop = () => setTimeout(() => resolve('stopped'), 5)));
    const result = allOrNothing(
      [
        Promise.reject(new Error('app build failed')),
        sibling.then((value) => (events.push('sibling ended'), value)),
      ],
      () => {
        events.push('stop the others');
        stop();
      },
    ).catch((error: Error) => {
      events.push(`rejected: ${error.message}`);
    });
    await result;
    expect(events).toEqual(['stop the others', 'sibling ended', 'rejected: app build failed']);
    await expect(allOrNothing([Promise.resolve(1), 2])).resolves.toEqual([1, 2]);
  });
});
