import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  buildx,
  dockerfileStages,
  driverSupportsCacheExport,
  parseBuilderDriver,
  parseBuildMetadata,
  parseRawManifest,
} from '../../actions/engine/commands/buildx.js';
import {
  docker,
  parseManifestInspect,
  parsePushDigest,
  type BuildSpec,
} from '../../actions/engine/commands/docker.js';
import {
  classifyRegistryFailure,
  dockerErrorLine,
  isLoopbackRegistry,
  REGISTRY_PATTERN,
  REPOSITORY_PATTERN,
} from '../../actions/engine/commands/registry.js';

const spec: BuildSpec = {
  context: '/work/app',
  dockerfile: '/work/app/Dockerfile',
  target: 'runner',
  reference: 'ghcr.io/acme/hello:sha-abc',
  labels: { 'org.opencontainers.image.revision': 'abc', note: 'a b; $(rm -rf /)' },
  buildArgs: { BASE_IMAGE: 'busybox:1', SOURCE_DATE_EPOCH: '1700000000' },
  platforms: [],
  noCache: false,
};

const digest = (n: string) => `sha256:${n.repeat(64)}`;

describe('buildx argv', () => {
  it('asks for buildx and its current builder', () => {
    expect(buildx.version()).toEqual(['docker', 'buildx', 'version']);
    expect(buildx.inspectBuilder()).toEqual(['docker', 'buildx', 'inspect']);
  });

  it('builds one target, reproducibly, without attestations, and pushes', () => {
    const argv = buildx.build(spec, 'push', '/tmp/meta.json');
    expect(argv.slice(0, 3)).toEqual(['docker', 'buildx', 'build']);
    expect(argv).toContain('--provenance=false');
    expect(argv).toContain('--sbom=false');
    expect(argv).toContain('--push');
    expect(argv).not.toContain('--load');
    expect(argv.slice(-2)).toEqual(['--', '/work/app']);
    const after = (flag: string) => argv.filter((_, i) => argv[i - 1] === flag);
    expect(after('--target')).toEqual(['runner']);
    expect(after('--tag')).toEqual(['ghcr.io/acme/hello:sha-abc']);
    expect(after('--build-arg')).toEqual(['BASE_IMAGE=busybox:1', 'SOURCE_DATE_EPOCH=1700000000']);
    // A label value is one argv element, whatever it holds: no shell ever sees it.
    expect(after('--label')).toContain('note=a b; $(rm -rf /)');
    expect(after('--metadata-file')).toEqual(['/tmp/meta.json']);
    expect(argv).not.toContain('--cache-from');
    expect(argv).not.toContain('--platform');
  });

  it('loads instead of pushing for a comparison build; passes platforms and --no-cache', () => {
    const argv = buildx.build({ ...spec, platforms: ['linux/amd64'], noCache: true }, 'load', '/m');
    expect(argv).toContain('--load');
    expect(argv).not.toContain('--push');
    expect(argv).toContain('--no-cache');
    expect(argv[argv.indexOf('--platform') + 1]).toBe('linux/amd64');
  });

  it('uses the GitHub Actions cache with an export that cannot fail the build', () => {
    const argv = buildx.build({ ...spec, cacheScope: 'deployer-app-acme-hello' }, 'push', '/m');
    expect(argv[argv.indexOf('--cache-from') + 1]).toBe('type=gha,scope=deployer-app-acme-hello');
    expect(argv[argv.indexOf('--cache-to') + 1]).toBe(
      'type=gha,mode=max,scope=deployer-app-acme-hello,ignore-error=true',
    );
  });

  it('has a legacy-builder form that records the image id, and a push', () => {
    const argv = docker.build(spec, '/tmp/iid');
    expect(argv.slice(0, 2)).toEqual(['docker', 'build']);
    expect(argv[argv.indexOf('--iidfile') + 1]).toBe('/tmp/iid');
    expect(argv).not.toContain('--provenance=false');
    expect(argv.slice(-2)).toEqual(['--', '/work/app']);
    expect(docker.push('r/x:t')).toEqual(['docker', 'push', 'r/x:t']);
  });
});

describe('reading what the builders print', () => {
  it('finds the builder driver in `docker buildx inspect`', () => {
    const text = 'Name:          default\nDriver:        docker\nLast Activity: 2026-01-01\n\nNodes:\n';
    expect(parseBuilderDriver(text)).toBe('docker');
    expect(parseBuilderDriver('Name: x\nDriver: docker-container\n')).toBe('docker-container');
    expect(parseBuilderDriver('nothing')).toBeUndefined();
    expect(driverSupportsCacheExport('docker')).toBe(false);
    expect(driverSupportsCacheExport('docker-container')).toBe(true);
  });

  it('reads digests from buildx metadata and ignores anything that is not one', () => {
    expect(
      parseBuildMetadata(
        JSON.stringify({
          'containerimage.digest': digest('a'),
          'containerimage.config.digest': digest('b'),
          'image.name': 'x',
        }),
      ),
    ).toEqual({ digest: digest('a'), configDigest: digest('b') });
    expect(parseBuildMetadata('{"containerimage.digest":"sha256:short"}')).toEqual({
      digest: undefined,
      configDigest: undefined,
    });
  });

  it('reads the digest from `docker push` output', () => {
    const output = `The push refers to repository [r/x]\nabc: Pushed\nsha-1: digest: ${digest('c')} size: 1149\n`;
    expect(parsePushDigest(output)).toBe(digest('c'));
    expect(parsePushDigest('nothing pushed')).toBeUndefined();
  });

  it('lists Dockerfile stages, with continuations, flags and any case', () => {
    const dockerfile = [
      '# syntax=docker/dockerfile:1',
      'ARG BASE_IMAGE=busybox',
      'FROM ${BASE_IMAGE} AS base',
      'from --platform=$BUILDPLATFORM golang:1.22 as Build',
      'FROM base \\',
      '  # a comment inside',
      '  AS runner',
      'FROM base',
      'RUN echo "FROM x AS fake"',
    ].join('\n');
    expect(dockerfileStages(dockerfile)).toEqual(['base', 'build', 'runner']);
    expect(dockerfileStages('# escape=`\nFROM x `\n  AS win\n')).toEqual(['win']);
  });
});

describe('registry commands', () => {
  it('validates registries and repository names', () => {
    for (const ok of [
      'ghcr.io',
      '127.0.0.1:5000',
      'registry.example.com:443',
      'localhost:5000',
      '[::1]:5000',
    ])
      expect(REGISTRY_PATTERN.test(ok), ok).toBe(true);
    for (const bad of ['https://ghcr.io', 'ghcr.io/acme', '-x.io', 'a b', ''])
      expect(REGISTRY_PATTERN.test(bad), bad).toBe(false);
    for (const ok of [
      'hello',
      'acme/hello',
      'acme/hello-migrator',
      'a/b__c/d.e',
      'release-test/ab12-1/hello',
    ])
      expect(REPOSITORY_PATTERN.test(ok), ok).toBe(true);
    for (const bad of ['Acme/hello', 'acme//hello', 'acme/', '/acme', 'acme/hello:tag', 'ac me', 'a/-b'])
      expect(REPOSITORY_PATTERN.test(bad), bad).toBe(false);
  });

  it('logs in with the password on standard input, never in argv', () => {
    expect(docker.login('ghcr.io', 'octocat')).toEqual([
      'docker',
      'login',
      'ghcr.io',
      '--username',
      'octocat',
      '--password-stdin',
    ]);
    // Into a Docker config of its own, when given one.
    expect(docker.login('ghcr.io', 'octocat', '/tmp/cfg')).toEqual([
      'docker',
      '--config',
      '/tmp/cfg',
      'login',
      'ghcr.io',
      '--username',
      'octocat',
      '--password-stdin',
    ]);
  });

  it('pulls, saves, finds and removes images by reference', () => {
    expect(docker.pull('r/x@sha256:1')).toEqual(['docker', 'pull', '--quiet', 'r/x@sha256:1']);
    expect(docker.save('sha256:2', '/t/a.tar')).toEqual([
      'docker',
      'save',
      '--output',
      '/t/a.tar',
      'sha256:2',
    ]);
    expect(docker.imageExists('r/x')).toEqual(['docker', 'image', 'inspect', '--format', '{{.Id}}', 'r/x']);
    expect(docker.removeImage('r/x')).toEqual(['docker', 'image', 'rm', 'r/x']);
  });

  it('looks tags up with the Docker tools; --insecure only for loopback registries', () => {
    expect(buildx.imagetoolsRaw('ghcr.io/a/b:t')).toEqual([
      'docker',
      'buildx',
      'imagetools',
      'inspect',
      '--raw',
      'ghcr.io/a/b:t',
    ]);
    expect(docker.manifestInspect('127.0.0.1:5000/a:t', '127.0.0.1:5000')).toContain('--insecure');
    expect(docker.manifestInspect('ghcr.io/a:t', 'ghcr.io')).not.toContain('--insecure');
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('localhost')).toBe(true);
    expect(isLoopbackRegistry('127.example.com')).toBe(false);
    expect(isLoopbackRegistry('ghcr.io')).toBe(false);
  });

  it('takes the digest of a raw manifest as the sha256 of its bytes', () => {
    const raw = `{\n   "schemaVersion": 2,\n   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",\n   "config": {"digest": "${digest('d')}"},\n   "layers": []\n}`;
    const manifest = parseRawManifest(raw);
    expect(manifest.digest).toBe(`sha256:${createHash('sha256').update(raw).digest('hex')}`);
    expect(manifest.configDigest).toBe(digest('d'));
    expect(manifest.isIndex).toBe(false);
    const index = parseRawManifest('{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}');
    expect(index.isIndex).toBe(true);
    expect(index.configDigest).toBeUndefined();
  });

  it('reads `docker manifest inspect --verbose`', () => {
    const raw = `{"schemaVersion":2,"config":{"digest":"${digest('e')}"},"layers":[]}`;
    const single = JSON.stringify({
      Ref: 'r/x:t',
      Descriptor: { digest: digest('f'), mediaType: 'm' },
      Raw: Buffer.from(raw).toString('base64'),
    });
    expect(parseManifestInspect(single)).toMatchObject({ digest: digest('f'), configDigest: digest('e') });
    expect(parseManifestInspect('[{"Ref":"a"},{"Ref":"b"}]').isIndex).toBe(true);
  });

  it('sorts registry failures by what they mean (real Docker messages)', () => {
    expect(classifyRegistryFailure('ERROR: 127.0.0.1:5000/x/hello:nope: not found')).toBe('absent');
    expect(classifyRegistryFailure('no such manifest: 127.0.0.1:5000/x:y')).toBe('absent');
    // A connection closed before any answer (seen from `compose pull` of a registry that resets at once).
    expect(classifyRegistryFailure('Get "http://127.0.0.1:41905/v2/": EOF')).toBe('unreachable');
    // A registry whose connection is reset as the request is written (seen from `compose pull`).
    expect(
      classifyRegistryFailure(
        'Get "http://127.0.0.1:45837/v2/": write tcp 127.0.0.1:43390->127.0.0.1:45837: write: broken pipe',
      ),
    ).toBe('unreachable');
    expect(
      classifyRegistryFailure(
        'Error response from daemon: login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized',
      ),
    ).toBe('unauthorized');
    expect(
      classifyRegistryFailure(
        'ERROR: pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials',
      ),
    ).toBe('unauthorized');
    expect(
      classifyRegistryFailure(
        'ERROR: failed to do request: Head "http://127.0.0.1:5999/v2/x/manifests/y": dial tcp 127.0.0.1:5999: connect: connection refused',
      ),
    ).toBe('unreachable');
    expect(classifyRegistryFailure('dial tcp: lookup nosuch.invalid: no such host')).toBe('unreachable');
    // A digest that happens to contain 401 is not an HTTP status.
    expect(
      classifyRegistryFailure(`ERROR: r/x@sha256:${'4'.repeat(10)}401${'0'.repeat(51)}: not found`),
    ).toBe('absent');
    expect(classifyRegistryFailure('something else')).toBe('other');
  });

  it('keeps the meaningful line of a Docker error', () => {
    expect(
      dockerErrorLine(
        'WARNING! Your password will be stored unencrypted\nError response from daemon: Get "http://h/v2/": connection refused\n',
      ),
    ).toBe('Get "http://h/v2/": connection refused');
    expect(dockerErrorLine('ERROR: x: not found')).toBe('x: not found');
  });
});
