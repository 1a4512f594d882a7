import { SshExecutor } from '../../actions/engine/exec/ssh.js';
import { host } from '../../actions/engine/commands/host.js';
import { serviceContainers } from '../../actions/engine/state/containers.js';
import type { Sandbox } from './sandbox.js';

/** A deploy path on the sandbox host, prepared and inspected over SSH as the deploy user. */
export class HostFixture {
  private constructor(
    readonly ssh: SshExecutor,
    readonly deployPath: string,
    readonly projectName: string,
  ) {}

  static async create(
    sb: Sandbox,
    name: string,
    envProduction = 'GREETING=hello\n',
    user = sb.sshUser,
    on: { host: string; port: number; fingerprint: string; deployRoot: string } = {
      host: sb.sshHost,
      port: sb.sshPort,
      fingerprint: sb.hostFingerprint,
      deployRoot: sb.deployRoot,
    },
  ): Promise<HostFixture> {
    const ssh = await SshExecutor.connect({
      host: on.host,
      port: on.port,
      username: user,
      privateKey: sb.sshKey,
      hostKey: { kind: 'fingerprint', fingerprints: [on.fingerprint] },
    });
    const unique = `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const fixture = new HostFixture(ssh, `${on.deployRoot}/${unique}`, unique.replace(/[^a-z0-9-]/g, '-'));
    await ssh.run(host.mkdirs(fixture.deployPath));
    await ssh.run(host.writeFileAtomic(`${fixture.deployPath}/.env.production`), { stdin: envProduction });
    return fixture;
  }

  async read(relative: string): Promise<string> {
    return (await this.ssh.run(host.readFileIfExists(`${this.deployPath}/${relative}`))).stdout;
  }

  async write(relative: string, content: string): Promise<void> {
    await this.ssh.run(
      host.mkdirs(`${this.deployPath}/${relative.split('/').slice(0, -1).join('/') || '.'}`),
    );
    await this.ssh.run(host.writeFileAtomic(`${this.deployPath}/${relative}`, '644'), { stdin: content });
  }

  async exists(relative: string): Promise<boolean> {
    return (
      (await this.ssh.run(['test', '-e', `${this.deployPath}/${relative}`], { check: false })).code === 0
    );
  }

  async state(): Promise<{
    current?: { id: string; sha: string; appImage: string; status: string };
    previous?: { id: string; sha: string };
    history: Array<{
      id: string;
      sha: string;
      status: string;
      reason?: string;
      logTail?: string;
      startedAt: string;
      finishedAt: string;
      promotedFrom?: { environment: string; releaseId: string };
      kind: string;
      migrated: boolean;
      migration?: string;
    }>;
  }> {
    const text = await this.read('.deployer/state.json');
    return text ? JSON.parse(text) : { history: [] };
  }

  /** Image references (as configured, with digest) of the running containers of a service, read as the engine reads them. */
  async runningImages(service = 'app'): Promise<string[]> {
    const running = await serviceContainers(this.ssh, service, { name: this.projectName });
    return running.map((container) => container.image);
  }

  /** Every container of the app service, stopped ones too: `<name> <image> <status>`, sorted. */
  async appContainers(service = 'app'): Promise<string[]> {
    const states = await serviceContainers(this.ssh, service, { name: this.projectName }, { all: true });
    return states.map((state) => `${state.name} ${state.image} ${state.status}`).sort();
  }

  /** Names in a folder of the deploy path. */
  async list(relative: string): Promise<string[]> {
    const { stdout } = await this.ssh.run(['ls', '-A', `${this.deployPath}/${relative}`]);
    return stdout.split('\n').filter(Boolean);
  }

  /** Files of the deploy user (in the deploy path, its home, /tmp) holding the password or its base64 login form. */
  async passwordFiles(username: string, password: string): Promise<string[]> {
    const basic = Buffer.from(`${username}:${password}`).toString('base64');
    const { stdout } = await this.ssh.run([
      'sh',
      '-c',
      // /tmp is shared with the test runner on the sandbox: only what the deploy user wrote there counts.
      '{ grep -rlsF -e "$1" -e "$2" "$3" "$HOME"; find /tmp -xdev -user "$(id -u)" -type f -exec grep -lsF -e "$1" -e "$2" {} +; } 2>/dev/null; true',
      'sh',
      password,
      basic,
      this.deployPath,
    ]);
    return stdout.split('\n').filter(Boolean);
  }

  /** `name status` of the containers (running or not) whose name starts with `prefix`. */
  async containers(prefix: string): Promise<string[]> {
    const { stdout } = await this.ssh.run([
      'docker',
      'ps',
      '--all',
      '--filter',
      `name=^${prefix}`,
      '--format',
      '{{.Names}} {{.State}}',
    ]);
    return stdout.split('\n').filter(Boolean);
  }

  async mode(relative: string): Promise<string> {
    return (await this.ssh.run(['stat', '-c', '%a', `${this.deployPath}/${relative}`])).stdout.trim();
  }

  async destroy(): Promise<void> {
    await this.ssh.run(
      [
        'sh',
        '-c',
        'docker ps -aq --filter "label=com.docker.compose.project=$1" | xargs -r docker rm -f; docker volume ls -q --filter "label=com.docker.compose.project=$1" | xargs -r docker volume rm; docker network ls -q --filter "label=com.docker.compose.project=$1" | xargs -r docker network rm',
        'sh',
        this.projectName,
      ],
      { check: false },
    );
    await this.ssh.run(host.remove(this.deployPath), { check: false });
    await this.ssh.close();
  }
}
