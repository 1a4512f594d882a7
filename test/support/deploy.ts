import type { ChildProcess } from 'node:child_process';
import { exampleDir } from './paths.js';
import type { ExampleRelease } from './images.js';
import type { HostFixture } from './host.js';
import { get } from './http.js';
import type { Sandbox } from './sandbox.js';

/** The inputs every deploy to the sandbox host shares: SSH, the registry login, quick readiness. */
export function sandboxConnectionInputs(sb: Sandbox): Record<string, string> {
  return {
    host: sb.sshHost,
    port: String(sb.sshPort),
    user: sb.sshUser,
    'ssh-key': sb.sshKey,
    'host-fingerprint': sb.hostFingerprint,
    'registry-username': sb.registryUsername,
    'registry-password': sb.registryPassword,
    'ready-timeout': '15s',
    'ready-interval': '200ms',
  };
}

/** A blue-green proxy of a test's own on the sandbox host (removed by `removeTestProxy`). */
export interface TestProxy {
  container: string;
  dir: string;
}

export function testProxy(sb: Sandbox, name: string): TestProxy {
  return {
    container: `deployer-proxy-${name}-${process.pid}`,
    dir: `${sb.deployRoot}/proxy-${name}-${process.pid}`,
  };
}

export async function removeTestProxy(fixture: HostFixture | undefined, proxy: TestProxy): Promise<void> {
  await fixture?.ssh.run(['docker', 'rm', '--force', proxy.container], { check: false });
  await fixture?.ssh.run(['rm', '-rf', '--', proxy.dir], { check: false });
}

/** The inputs of a blue-green deploy of the example app through `proxy`, quick to settle. */
export function blueGreenInputs(sb: Sandbox, proxy: TestProxy): Record<string, string> {
  return {
    strategy: 'blue-green',
    'compose-file': `${exampleDir}/docker-compose.blue-green.yml`,
    'proxy-image': sb.proxyImage,
    'proxy-container': proxy.container,
    'proxy-dir': proxy.dir,
    'drain-timeout': '20s',
    'ready-stable-for': '500ms',
  };
}

/** deploy-staging's inputs for the example app on a sandbox deploy path. */
export function deployInputs(
  sb: Sandbox,
  fixture: HostFixture,
  port: number,
  release: ExampleRelease,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...sandboxConnectionInputs(sb),
    'deploy-path': fixture.deployPath,
    'project-name': fixture.projectName,
    'compose-file': `${exampleDir}/docker-compose.deploy.yml`,
    'app-host-port': String(port),
    'app-image': release.appImage,
    'migrator-image': release.migratorImage,
    sha: release.sha,
    'ready-expect-json': JSON.stringify({ version: release.sha }),
    // Short here; the crash test runs with the action's default.
    'ready-stable-for': '500ms',
    ...extra,
  };
}

/** The commit the example app on `port` says it runs. */
export async function servedVersion(port: number): Promise<string> {
  return JSON.parse((await get(`http://127.0.0.1:${port}/version`)).body).version as string;
}

/** Calls `act` once, the first time the action's log contains `text` (e.g. to inject a fault there). */
export function onLog(text: string, act: (child: ChildProcess) => void): (child: ChildProcess) => void {
  return (child) => {
    let seen = '';
    let done = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (done) return;
      seen += chunk.toString();
      if (seen.includes(text)) {
        done = true;
        act(child);
      }
    });
  };
}

/**
 * Cancels the action the way GitHub cancels a job: SIGINT now, SIGTERM 7.5 s later, SIGKILL 2.5 s
 * after that. `killed()` says whether the SIGKILL was needed (the action did not end in time).
 */
export function cancelLikeGitHub(child: ChildProcess): { killed: () => boolean } {
  let killed = false;
  child.kill('SIGINT');
  const term = setTimeout(() => child.kill('SIGTERM'), 7_500);
  const kill = setTimeout(() => ((killed = true), child.kill('SIGKILL')), 10_000);
  child.on('exit', () => (clearTimeout(term), clearTimeout(kill)));
  return { killed: () => killed };
}
