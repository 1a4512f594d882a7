// A scripted fake of a deploy host: the engine's HostExecutor over a small model of one machine
// with Docker, for unit tests of the deploy flow, the lease and the promotion gate without Docker.
//
// Why this shape (faithful yet fast and deterministic):
//   - The host scripts of commands/host.ts (begin, record, fenced, renew/release lock, readState…)
//     are where the lock, the fence, the takeover guard, state.json, the current link and pruning
//     live. Re-implementing them in TypeScript would test a copy, so they run for real here, with a
//     local `sh`, on a temp dir that plays the host's file system (as test/unit/deploy-plan.test.ts
//     does). Their output therefore has exactly the format the engine's parsers expect.
//   - Docker is modelled in memory (containers per Compose service with image, status, restart
//     count, start time; pinned images present; the migrator's exit code). Commands the engine sends
//     as argv (`docker compose … pull/up/run/rm/logs`, `docker ps/inspect/wait/logs/rm/image …`) are
//     answered from that model, in the formats the engine's readers parse.
//   - A script that wraps a Docker command (`host.fenced`, `host.startMigrator`,
//     `host.withRegistryLogin`) runs for real with `true` in place of the wrapped command: its fence
//     and its checks decide; only when it gets as far as running the command is that command applied
//     to the model. The few `docker` calls made *inside* scripts (image inspect/rm in begin and record,
//     `compose version` in detectCompose, `ps` for a busy migrator, `login`) reach a tiny `docker`
//     shell script first on PATH that answers from files the model keeps beside it.
//   - Every command is recorded with a label ('begin', 'fenced: compose up', 'docker wait'…), and a
//     test can inject at the Nth command matching a pattern: a failure, a hang (until aborted, timed
//     out or the connection drops) or a lost connection (ConnectionLostError, before or after the
//     host ran the command). Hooks and promises on command start/end replace sleeps.
//   - A scene set up by a real deploy can be copied (FakeHost.clone) so that many tests start
//     from it without paying for that deploy again: process starts are what costs time here.
//   - `docker events` (the app watch's one stream per window) is answered from an event log the
//     model keeps as its containers are created, die, restart, turn unhealthy or are removed: the
//     events since `--since` first, then each as it happens, until `--until` passes, when the stream
//     ends by itself as on a real host (an abort only stops the engine waiting for it). Its host
//     script (`host.eventWindow`) runs for real with `printf` in place of `docker events`, so the
//     window it computes from the host's clock is the one the model applies.
//   - Readiness is asked over real HTTP (the 'url' endpoint kind) from a node:http server on
//     127.0.0.1 that answers according to the model: 200 while the service's running container's
//     image is ready, 503 while it is not, a dropped connection when nothing runs.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { host as hostScripts } from '../../actions/engine/commands/host.js';
import { docker as dockerArgv } from '../../actions/engine/commands/docker.js';
import {
  CommandError,
  type CommandResult,
  type HostExecutor,
  type RunOptions,
} from '../../actions/engine/exec/executor.js';
import { CommandTimeoutError, ConnectionLostError } from '../../actions/engine/exec/ssh.js';
import { parseState, type DeployState } from '../../actions/engine/state/release.js';
import { parseLock, type LockInfo } from '../../actions/engine/state/lock.js';

// ---------------------------------------------------------------------------------------------
// Recognising the host scripts: each is a constant text (values are positional arguments), so
// the engine's own builders, called with markers, give the exact texts and argument positions.

const INNER = '__fake_inner_command__';
const DIR = '/__fake_dir__';
const FENCE = { lock: '/l', token: 't' };

interface Wrapper {
  label: string;
  /** Positional arguments before the wrapped command. */
  leading: number;
  /** Index (among the positional arguments) of the folder the wrapped command runs in. */
  dirIndex: number;
}

function wrapper(label: string, argv: string[]): [string, Wrapper] {
  const positional = argv.slice(4);
  return [argv[2]!, { label, leading: positional.indexOf(INNER), dirIndex: positional.indexOf(DIR) }];
}

const WRAPPERS = new Map<string, Wrapper>([
  wrapper('fenced', hostScripts.fenced(FENCE, [INNER], DIR)),
  wrapper('start-migrator', hostScripts.startMigrator(FENCE, { project: 'p', service: 's' }, [INNER], DIR)),
  wrapper('event-window', hostScripts.eventWindow('2000-01-01T00:00:00Z', 1, [INNER])),
  wrapper(
    'registry-login',
    hostScripts.withRegistryLogin(FENCE, '/c', { server: 'r', username: 'u' }, [INNER], DIR),
  ),
]);

const SCRIPTS = new Map<string, string>([
  [
    hostScripts.begin({
      stateDir: '/s',
      lockOwner: 'o',
      token: 't',
      ttlSeconds: 1,
      envFile: '/e',
      releaseDir: '/r',
      envFileName: 'e',
      source: { composeText: '' },
      deployEnv: '',
      currentLink: '/c',
      images: [],
    })[2]!,
    'begin',
  ],
  [hostScripts.detectCompose('/s', 'auto')[2]!, 'detect-compose'],
  [hostScripts.renewLock('/l', 't', 1)[2]!, 'renew-lock'],
  [hostScripts.releaseLock('/l', 't')[2]!, 'release-lock'],
  [
    hostScripts.record({
      stateDir: '/s',
      token: 't',
      auditLine: '',
      auditCapBytes: 1,
      currentTarget: '',
      currentLink: '/c',
      loginDir: '/l',
      keepReleaseIds: [],
      pruneImages: [],
    })[2]!,
    'record',
  ],
  [hostScripts.readState('/s')[2]!, 'read-state'],
  [hostScripts.readFileIfExists('/f')[2]!, 'read-file'],
  [hostScripts.writeFileAtomic('/f')[2]!, 'write-file'],
]);

const CONTAINER_STATE_FORMAT = dockerArgv.inspectContainers([])[3]!;
const CONTAINER_STATUS_FORMAT = dockerArgv.containerStatus('x')[3]!;

/** The short name of a command as the tests see it: 'begin', 'fenced: compose up', 'docker wait'… */
function labelOf(argv: readonly string[]): { label: string; wrapper?: Wrapper; inner?: string[] } {
  if (argv[0] === 'sh' && argv[1] === '-c') {
    const script = argv[2] ?? '';
    const wrap = WRAPPERS.get(script);
    if (wrap) {
      const inner = argv.slice(4 + wrap.leading);
      return { label: `${wrap.label}: ${labelOf(inner).label}`, wrapper: wrap, inner };
    }
    return { label: SCRIPTS.get(script) ?? 'sh' };
  }
  const composeArgs =
    argv[0] === 'docker' && argv[1] === 'compose'
      ? argv.slice(2)
      : argv[0] === 'docker-compose'
        ? argv.slice(1)
        : undefined;
  if (composeArgs) {
    const sub = composeArgs.find(
      (arg, index) => !arg.startsWith('-') && !composeArgs[index - 1]?.startsWith('--'),
    );
    return { label: `compose ${sub ?? ''}`.trim() };
  }
  if (argv[0] === 'docker') {
    const args = argv[1] === '--config' ? argv.slice(3) : argv.slice(1);
    return { label: args[0] === 'image' ? `docker image ${args[1]}` : `docker ${args[0]}` };
  }
  return { label: argv.slice(0, 1).join(' ') };
}

// ---------------------------------------------------------------------------------------------
// The model

export type ContainerStatus = 'created' | 'running' | 'restarting' | 'exited' | 'dead';

export class FakeContainer {
  status: ContainerStatus = 'running';
  exitCode = 0;
  restartCount = 0;
  startedAt = new Date().toISOString();
  logs = '';
  /** Where its events go (set by the host that runs it): the log `docker events` answers from. */
  onEvent?: (container: FakeContainer, action: string, attributes?: Record<string, string>) => void;
  private stoppedWith!: () => void;
  /** Settles when the container stops (or is removed). */
  readonly stopped = new Promise<void>((resolve) => (this.stoppedWith = resolve));

  constructor(
    readonly id: string,
    readonly name: string,
    readonly project: string,
    readonly service: string,
    readonly oneoff: boolean,
    readonly workingDir: string,
    public image: string,
    public imageId: string,
  ) {}

  get labels(): Record<string, string> {
    return {
      'com.docker.compose.project': this.project,
      'com.docker.compose.service': this.service,
      'com.docker.compose.oneoff': this.oneoff ? 'True' : 'False',
      'com.docker.compose.project.working_dir': this.workingDir,
    };
  }

  get running(): boolean {
    return this.status === 'running' || this.status === 'restarting';
  }

  /** The container's process ends with `exitCode`. */
  exit(exitCode: number): void {
    this.status = 'exited';
    this.exitCode = exitCode;
    this.onEvent?.(this, 'die', { exitCode: String(exitCode) });
    this.stoppedWith();
  }

  /** The process crashed with `exitCode`; its restart policy has Docker start it again after a back-off (`restart`). */
  crash(exitCode = 1): void {
    this.status = 'restarting';
    this.exitCode = exitCode;
    this.onEvent?.(this, 'die', { exitCode: String(exitCode) });
  }

  /** The process crashed and Docker restarted it: same container, new start time, one more restart. */
  restart(exitCode = 1): void {
    if (this.status !== 'restarting') this.crash(exitCode);
    this.status = 'running';
    this.exitCode = 0;
    this.restartCount++;
    // Later than the last start, and never ahead of the host's clock.
    this.startedAt = new Date(Math.max(Date.now(), Date.parse(this.startedAt) + 1)).toISOString();
    this.onEvent?.(this, 'start');
  }

  /** Its health check failed often enough in a row: Docker says so (and restarts nothing). */
  unhealthy(): void {
    this.onEvent?.(this, 'health_status: unhealthy');
  }
}

/** How an app image behaves once started. */
export interface AppBehaviour {
  /** Answers readiness with 200 (default) or 503. */
  ready?: boolean;
  /** Exits right after it starts, with this code. */
  exitCode?: number;
  logs?: string;
}

/** How the next migrator run behaves. */
export interface MigratorScript {
  exitCode: number;
  logs: string;
  /** The migration runs until this settles (default: it ends at once). */
  until?: Promise<unknown>;
}

export type Fault =
  /** Answered without running: the command fails with this result. */
  | { kind: 'fail'; code?: number; stdout?: string; stderr?: string }
  /** Never answers: until the run is aborted, times out, or the connection drops. */
  | { kind: 'hang' }
  /** The connection drops: before the host ran the command (default) or after (the reply is lost). */
  | { kind: 'lost'; when?: 'before' | 'after' }
  /** The command reaches the host only once `until` settles (a slow network or a busy host). */
  | { kind: 'delay'; until: Promise<unknown> };

export interface RecordedCommand {
  /** Position in the order commands were sent (1-based). */
  seq: number;
  label: string;
  argv: readonly string[];
  /** Which connection sent it (1 for the first; a reconnect opens the next). */
  connection: number;
  /** The command a fenced/start-migrator/registry-login script wraps. */
  inner?: string[];
  /** Position in the order commands ended, once they did. */
  endSeq?: number;
  result?: CommandResult;
  error?: Error;
  fault?: Fault['kind'];
}

/** A string matches a label exactly or as the wrapped command ('compose up' matches 'fenced: compose up'). */
export type CommandMatcher = string | RegExp | ((command: RecordedCommand) => boolean);

function matches(matcher: CommandMatcher, command: RecordedCommand): boolean {
  if (typeof matcher === 'string') return command.label === matcher || command.label.endsWith(`: ${matcher}`);
  if (matcher instanceof RegExp) return matcher.test(command.label);
  return matcher(command);
}

interface Hook {
  matcher: CommandMatcher;
  phase: 'start' | 'end';
  nth: number;
  seen: number;
  act: (command: RecordedCommand) => void;
}

interface PlannedFault {
  matcher: CommandMatcher;
  nth: number;
  seen: number;
  fault: Fault;
}

const FAKE_DOCKER = `#!/bin/sh
# The docker CLI as the host scripts of commands/host.ts call it, answered from the fake host's
# files (test/support/fake-executor.ts): images present, Compose's version, running migrators.
d=$FAKE_DOCKER_DIR
if [ "$1" = --config ]; then shift 2; fi
# Builtins only: every process costs milliseconds.
has_image() {
  while read -r ref _id; do [ "$ref" != "$1" ] || return 0; done < "$d/images"
  return 1
}
case "$1" in
  image)
    case "$2" in
      inspect)
        shift 2
        while [ "$#" -gt 0 ]; do
          case "$1" in --format|-f) shift 2; continue ;; esac
          has_image "$1" || { echo "Error: No such image: $1" >&2; exit 1; }
          shift
        done
        exit 0 ;;
      rm)
        shift 2; status=0
        for ref in "$@"; do
          if has_image "$ref"; then
            awk -v r="$ref" '$1 != r' "$d/images" > "$d/images.tmp.$$" && mv -f "$d/images.tmp.$$" "$d/images"
          else echo "Error: No such image: $ref" >&2; status=1; fi
        done
        exit $status ;;
    esac ;;
  compose)
    if [ "$2" = version ] && [ -f "$d/compose-version" ]; then cat "$d/compose-version"; exit 0; fi
    echo "docker: 'compose' is not a docker command." >&2; exit 1 ;;
  ps) cat "$d/busy" 2>/dev/null; exit 0 ;;
  login)
    cat > /dev/null
    if [ -f "$d/login-refused" ]; then echo "Error response from daemon: Get \\"https://$2/v2/\\": unauthorized: incorrect username or password" >&2; exit 1; fi
    echo "Login Succeeded"; exit 0 ;;
esac
echo "fake docker: not emulated inside host scripts: $*" >&2
exit 125
`;

const FAKE_DOCKER_COMPOSE = `#!/bin/sh
if [ "$1" = version ] && [ -f "$FAKE_DOCKER_DIR/compose-standalone-version" ]; then cat "$FAKE_DOCKER_DIR/compose-standalone-version"; exit 0; fi
echo "sh: docker-compose: not found" >&2; exit 127
`;

const never = () => new Promise<never>(() => undefined);

/**
 * One host: a temp dir standing for its file system (deploy paths live below `root`), Docker in
 * memory, the commands it received, and the faults and hooks a test planned.
 */
export class FakeHost {
  readonly root = mkdtempSync(join(tmpdir(), 'deployer-fake-host-'));
  readonly commands: RecordedCommand[] = [];
  readonly containers: FakeContainer[] = [];
  /** Images the registry does not have (a pull of them fails with "manifest unknown"). */
  readonly missingFromRegistry = new Set<string>();
  /** The next migrator run (then this again for the ones after, unless changed). */
  migrator: MigratorScript = { exitCode: 0, logs: 'applying 2 migrations\nmigrations applied\n' };
  /** Called on every readiness request to an app served by `serveApp`. */
  onAppRequest?: (answer: { status: number | 'dropped'; container?: FakeContainer }) => void;
  private readonly behaviours = new Map<string, AppBehaviour>();
  private readonly hooks: Hook[] = [];
  private readonly faults: PlannedFault[] = [];
  private readonly servers: Server[] = [];
  private readonly dockerDir = join(this.root, '.fake-docker');
  private readonly bin = join(this.root, '.fake-bin');
  private connections = 0;
  private readonly executors = new Map<number, FakeExecutor>();
  private readonly processes = new Set<Promise<CommandResult>>();
  /** What `docker events` replays (from --since) and the streams open now, fed each new event. */
  private readonly eventLog: FakeEvent[] = [];
  private readonly eventStreams = new Set<(event?: FakeEvent) => void>();
  private refusals: string[] = [];
  private ended = 0;
  private nextId = 1;

  constructor(private readonly options: { composeVersion?: string; composeStandaloneVersion?: string } = {}) {
    mkdirSync(this.dockerDir, { recursive: true });
    mkdirSync(this.bin, { recursive: true });
    mkdirSync(join(this.root, 'home'), { recursive: true });
    writeFileSync(join(this.bin, 'docker'), FAKE_DOCKER, { mode: 0o755 });
    writeFileSync(join(this.bin, 'docker-compose'), FAKE_DOCKER_COMPOSE, { mode: 0o755 });
    writeFileSync(join(this.dockerDir, 'images'), '');
    if (options.composeVersion !== '')
      writeFileSync(join(this.dockerDir, 'compose-version'), `${options.composeVersion ?? '2.29.1'}\n`);
    if (options.composeStandaloneVersion)
      writeFileSync(
        join(this.dockerDir, 'compose-standalone-version'),
        `${options.composeStandaloneVersion}\n`,
      );
  }

  /**
   * A copy of this host as it is now (files, images, containers), with nothing scripted and no
   * command received: a scene set up once by a real deploy, reused by many tests.
   */
  clone(): FakeHost {
    const copy = new FakeHost(this.options);
    for (const name of readdirSync(this.root)) {
      if (name === '.fake-bin' || name === 'home') continue;
      cpSync(join(this.root, name), join(copy.root, name), { recursive: true, verbatimSymlinks: true });
    }
    for (const c of this.containers) {
      const twin = new FakeContainer(
        c.id,
        c.name,
        c.project,
        c.service,
        c.oneoff,
        c.workingDir.replace(this.root, copy.root),
        c.image,
        c.imageId,
      );
      if (!c.running) twin.exit(c.exitCode);
      Object.assign(twin, {
        status: c.status,
        restartCount: c.restartCount,
        startedAt: c.startedAt,
        logs: c.logs,
      });
      twin.onEvent = copy.logEvent;
      copy.containers.push(twin);
    }
    copy.nextId = this.nextId;
    return copy;
  }

  /** A new connection to this host (what `SshExecutor.connect` would give). */
  connect(): FakeExecutor {
    const refusal = this.refusals.shift();
    if (refusal !== undefined) throw new Error(`SSH connection to deploy@fake-host:22 failed: ${refusal}`);
    const executor = new FakeExecutor(this, ++this.connections);
    this.executors.set(executor.connection, executor);
    return executor;
  }

  /** The connection that sent `command`. */
  connectionOf(command: RecordedCommand): FakeExecutor | undefined {
    return this.executors.get(command.connection);
  }

  /** The next `count` connection attempts fail. */
  refuseConnections(count: number, reason = 'connect ECONNREFUSED'): void {
    this.refusals.push(...Array<string>(count).fill(reason));
  }

  async dispose(): Promise<void> {
    // A script whose connection dropped still runs to its end, as on a real host: let it finish
    // before its files go. Event streams would end with their windows: they end now.
    for (const stream of [...this.eventStreams]) stream();
    await Promise.allSettled(this.processes);
    for (const server of this.servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  // ----- scripting ---------------------------------------------------------------------------

  /** The Nth command matching `matcher` (counted from now) meets `fault`. */
  inject(matcher: CommandMatcher, fault: Fault, { nth = 1 }: { nth?: number } = {}): void {
    this.faults.push({ matcher, fault, nth, seen: 0 });
  }

  /** Runs `act` when the Nth matching command reaches the host ('start') or has been answered ('end'). */
  on(
    matcher: CommandMatcher,
    act: (command: RecordedCommand) => void,
    { phase = 'start', nth = 1 }: { phase?: 'start' | 'end'; nth?: number } = {},
  ): void {
    this.hooks.push({ matcher, act, phase, nth, seen: 0 });
  }

  /** Settles when the Nth matching command reaches the host or has been answered. */
  when(
    matcher: CommandMatcher,
    options: { phase?: 'start' | 'end'; nth?: number } = {},
  ): Promise<RecordedCommand> {
    return new Promise((resolve) => this.on(matcher, resolve, options));
  }

  /** How containers of `image` behave from their next start. */
  app(image: string, behaviour: AppBehaviour): void {
    this.behaviours.set(image, behaviour);
  }

  /**
   * An HTTP endpoint on 127.0.0.1 answering for the running container of a Compose service:
   * 200 when its image is ready, 503 when not, a dropped connection when none runs.
   */
  async serveApp(project: string, service: string): Promise<string> {
    const server = createServer((request, response) => {
      const container = this.containers.find(
        (c) => c.project === project && c.service === service && !c.oneoff && c.status === 'running',
      );
      const status = !container ? 'dropped' : this.behaviour(container.image).ready === false ? 503 : 200;
      this.onAppRequest?.({ status, container });
      if (status === 'dropped') {
        request.socket.destroy();
        return;
      }
      response.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      response.end(JSON.stringify({ image: container!.image, ready: status === 200 }));
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ready`;
  }

  // ----- what the host holds -----------------------------------------------------------------

  /** A deploy path on this host with the host's own env file in it. */
  deployPath(name = 'srv/hello', envFileName = '.env.staging', envText = 'GREETING=hello\n'): string {
    const path = join(this.root, name);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, envFileName), envText);
    return path;
  }

  read(path: string): string | undefined {
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  }

  /** `.deployer/state.json` of a deploy path, parsed the engine's way (an empty state when absent). */
  state(deployPath: string, environment = 'staging'): DeployState {
    const text = this.read(`${deployPath}/.deployer/state.json`);
    return parseState(text ?? '', environment, 'fake', text !== undefined);
  }

  lock(deployPath: string): (LockInfo & { token?: string }) | undefined {
    const text = this.read(`${deployPath}/.deployer/lock`);
    if (text === undefined) return undefined;
    const info = parseLock(text);
    let token: string | undefined;
    try {
      token = (JSON.parse(info.owner) as { token?: string }).token;
    } catch {
      // not an owner deployer wrote
    }
    return { ...info, token };
  }

  /** Writes the lock as another deploy holds it (expiry in seconds from now, negative: expired). */
  holdLock(deployPath: string, owner: Record<string, string>, expiresInSeconds: number): string {
    mkdirSync(`${deployPath}/.deployer/releases`, { recursive: true });
    const text = `${Math.floor(Date.now() / 1000) + expiresInSeconds}\n${JSON.stringify(owner)}\n`;
    writeFileSync(`${deployPath}/.deployer/lock`, text);
    return text;
  }

  currentLink(deployPath: string): string | undefined {
    try {
      return readlinkSync(`${deployPath}/current`);
    } catch {
      return undefined;
    }
  }

  /** Containers of a Compose service (not one-off runs). */
  service(project: string, service: string): FakeContainer[] {
    return this.containers.filter((c) => c.project === project && c.service === service && !c.oneoff);
  }

  /** The images the service's running containers run. */
  runningImages(project: string, service: string): string[] {
    return this.service(project, service)
      .filter((c) => c.running)
      .map((c) => c.image);
  }

  oneoffs(project: string): FakeContainer[] {
    return this.containers.filter((c) => c.project === project && c.oneoff);
  }

  /** Image references present on the host, with their ids. */
  images(): Map<string, string> {
    const text = readFileSync(join(this.dockerDir, 'images'), 'utf8');
    return new Map(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ') as [string, string]),
    );
  }

  setImage(ref: string, id = imageIdOf(ref)): void {
    const images = this.images();
    images.set(ref, id);
    writeFileSync(
      join(this.dockerDir, 'images'),
      [...images].map(([name, value]) => `${name} ${value}\n`).join(''),
    );
  }

  /** The commands matching `matcher`, from the `from`th one sent on (0: all). */
  filter(matcher: CommandMatcher, from = 0): RecordedCommand[] {
    return this.commands.slice(from).filter((command) => matches(matcher, command));
  }

  find(matcher: CommandMatcher, from = 0): RecordedCommand | undefined {
    return this.filter(matcher, from)[0];
  }

  labels(connection?: number): string[] {
    return this.commands
      .filter((c) => connection === undefined || c.connection === connection)
      .map((c) => c.label);
  }

  // ----- used by FakeExecutor ----------------------------------------------------------------

  /** @internal */
  received(argv: readonly string[], connection: number): RecordedCommand {
    const { label, inner } = labelOf(argv);
    const command: RecordedCommand = { seq: this.commands.length + 1, label, argv, connection, inner };
    this.commands.push(command);
    return command;
  }

  /** @internal */
  fire(command: RecordedCommand, phase: 'start' | 'end'): void {
    if (phase === 'end') command.endSeq = ++this.ended;
    for (const hook of [...this.hooks]) {
      if (hook.phase !== phase || !matches(hook.matcher, command)) continue;
      if (++hook.seen !== hook.nth) continue;
      this.hooks.splice(this.hooks.indexOf(hook), 1);
      hook.act(command);
    }
  }

  /** @internal */
  faultFor(command: RecordedCommand): Fault | undefined {
    // Every planned fault counts the command; the first one whose turn it is applies.
    const due = this.faults.filter(
      (planned) => matches(planned.matcher, command) && ++planned.seen === planned.nth,
    );
    const [first] = due;
    for (const planned of due) this.faults.splice(this.faults.indexOf(planned), 1);
    if (first) command.fault = first.fault.kind;
    return first?.fault;
  }

  /** @internal What the host does with a command: scripts through `sh`, Docker from the model. */
  async execute(command: RecordedCommand, options: RunOptions): Promise<CommandResult> {
    const wrap = labelOf(command.argv).wrapper;
    if (!wrap) return this.dispatch(command.argv, options);
    if (wrap.label === 'event-window') {
      // The script computes the window (`--until` from the host's clock): `printf` says what it would add.
      const window = await this.local([...command.argv.slice(0, 4 + wrap.leading), 'printf', '%s\\n'], {});
      if (window.code !== 0) return window;
      return this.dispatch([...command.inner!, ...window.stdout.split('\n').filter(Boolean)], options);
    }
    const positional = command.argv.slice(4);
    if (wrap.label === 'start-migrator') this.writeBusy(positional[2]!, positional[3]!);
    // The script itself decides (fence, busy migrator, login, folder); `true` stands for its command.
    const probe = await this.local([...command.argv.slice(0, 4 + wrap.leading), 'true'], {
      stdin: options.stdin,
    });
    if (probe.code !== 0) return probe;
    const result = await this.dispatch(command.inner!, {
      cwd: positional[wrap.dirIndex] || undefined,
      onStdout: options.onStdout,
      onStderr: options.onStderr,
    });
    // `"$@" >/dev/null` in the start-migrator script.
    return wrap.label === 'start-migrator' ? { ...result, stdout: '' } : result;
  }

  private dispatch(argv: readonly string[], options: RunOptions): Promise<CommandResult> | CommandResult {
    if (argv[0] === 'docker' && argv[1] === 'compose') return this.compose(argv.slice(2));
    if (argv[0] === 'docker-compose') {
      if (!existsSync(join(this.dockerDir, 'compose-standalone-version')))
        return { code: 127, stdout: '', stderr: 'sh: docker-compose: not found\n' };
      return this.compose(argv.slice(1));
    }
    if (argv[0] === 'docker') return this.docker(argv.slice(1), options);
    return this.local(argv, options);
  }

  private local(argv: readonly string[], options: RunOptions): Promise<CommandResult> {
    if (options.cwd && !existsSync(options.cwd))
      return Promise.resolve({ code: 2, stdout: '', stderr: `sh: cd: can't cd to ${options.cwd}\n` });
    const running = this.spawn(argv, options);
    this.processes.add(running);
    void running.finally(() => this.processes.delete(running)).catch(() => undefined);
    return running;
  }

  private spawn(argv: readonly string[], options: RunOptions): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), {
        cwd: options.cwd ?? this.root,
        env: {
          ...process.env,
          PATH: `${this.bin}:${process.env.PATH}`,
          HOME: join(this.root, 'home'),
          FAKE_DOCKER_DIR: this.dockerDir,
          LC_ALL: 'C',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        options.onStdout?.(chunk);
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        options.onStderr?.(chunk);
      });
      child.on('error', reject);
      child.stdin.on('error', () => undefined);
      child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
      child.stdin.end(options.stdin ?? '');
    });
  }

  private writeBusy(project: string, service: string): void {
    const names = this.containers
      .filter((c) => c.project === project && c.service === service && c.oneoff && c.running)
      .map((c) => `${c.name}\n`);
    writeFileSync(join(this.dockerDir, 'busy'), names.join(''));
  }

  private behaviour(image: string): AppBehaviour {
    return this.behaviours.get(image) ?? {};
  }

  private byRef(ref: string): FakeContainer | undefined {
    return this.containers.find(
      (c) => c.name === ref || c.id === ref || (ref.length >= 12 && c.id.startsWith(ref)),
    );
  }

  private remove(container: FakeContainer): void {
    this.containers.splice(this.containers.indexOf(container), 1);
    if (container.running) {
      this.logEvent(container, 'kill', { signal: '9' });
      container.exit(137);
    }
    this.logEvent(container, 'destroy');
  }

  /** A container event, as the daemon logs it: kept for `--since` and passed to the streams open now. */
  private readonly logEvent = (
    container: FakeContainer,
    action: string,
    attributes: Record<string, string> = {},
  ): void => {
    const event: FakeEvent = {
      time: Date.now(),
      action,
      id: container.id,
      name: container.name,
      image: container.image,
      attributes,
    };
    this.eventLog.push(event);
    for (const stream of [...this.eventStreams]) stream(event);
  };

  private create(
    project: string,
    service: string,
    image: string,
    workingDir: string,
    oneoff: boolean,
    name?: string,
  ): FakeContainer {
    const seq = this.nextId++;
    const container = new FakeContainer(
      createHash('sha256').update(`container ${seq}`).digest('hex'),
      name ?? `${project}-${service}-1`,
      project,
      service,
      oneoff,
      workingDir,
      image,
      this.images().get(image) ?? imageIdOf(image),
    );
    container.onEvent = this.logEvent;
    this.containers.push(container);
    this.logEvent(container, 'create');
    this.logEvent(container, 'start');
    return container;
  }

  // ----- Docker Compose ------------------------------------------------------------------------

  private compose(args: readonly string[]): CommandResult {
    const fail = (stderr: string, code = 1): CommandResult => ({ code, stdout: '', stderr: `${stderr}\n` });
    let project = '';
    let file = '';
    let envFile = '';
    let index = 0;
    for (; index < args.length && args[index]!.startsWith('--'); index += 2) {
      const [flag, value = ''] = [args[index], args[index + 1]];
      if (flag === '--project-name') project = value;
      else if (flag === '--file') file = value;
      else if (flag === '--env-file') envFile = value;
      else return fail(`unknown flag: ${flag}`);
    }
    const sub = args[index];
    const rest = args.slice(index + 1);
    const flags = rest.filter((arg) => arg.startsWith('--'));
    const valueOf = (flag: string) => rest[rest.indexOf(flag) + 1] ?? '';
    const services = rest.filter(
      (arg, i) => !arg.startsWith('--') && !['--name', '--tail'].includes(rest[i - 1] ?? ''),
    );
    if (sub === 'version') return { code: 0, stdout: '2.29.1\n', stderr: '' };
    if (!existsSync(file)) return fail(`open ${file}: no such file or directory`);
    if (!existsSync(envFile)) return fail(`couldn't find env file: ${envFile}`);
    const spec = parseYaml(readFileSync(file, 'utf8')) as {
      services?: Record<string, { image?: string }>;
    };
    const env = parseEnvFile(readFileSync(envFile, 'utf8'));
    const workingDir = dirname(file);
    const imageOf = (service: string): string | CommandResult => {
      const definition = spec.services?.[service];
      if (!definition) return fail(`no such service: ${service}`);
      try {
        return interpolate(definition.image ?? '', env, `services.${service}.image`);
      } catch (error) {
        return fail((error as Error).message);
      }
    };
    const images: string[] = [];
    for (const service of sub === 'logs' ? [] : services) {
      const image = imageOf(service);
      if (typeof image !== 'string') return image;
      images.push(image);
    }
    const pull = (image: string): CommandResult | undefined => {
      if (this.missingFromRegistry.has(image))
        return fail(
          `Error response from daemon: manifest for ${image} not found: manifest unknown: manifest unknown`,
          18,
        );
      this.setImage(image);
      return undefined;
    };
    const ok = (stderr = ''): CommandResult => ({ code: 0, stdout: '', stderr });

    switch (sub) {
      case 'pull':
        for (const image of images) {
          const failed = pull(image);
          if (failed) return failed;
        }
        return ok();
      case 'up': {
        let progress = '';
        for (const [i, service] of services.entries()) {
          const image = images[i]!;
          if (!this.images().has(image)) {
            const failed = pull(image);
            if (failed) return failed;
          }
          const existing = this.service(project, service);
          const name = `${project}-${service}-1`;
          if (
            !flags.includes('--force-recreate') &&
            existing.length === 1 &&
            existing[0]!.image === image &&
            existing[0]!.running
          ) {
            progress += ` Container ${name}  Running\n`;
            continue;
          }
          for (const old of existing) this.remove(old);
          const container = this.create(project, service, image, workingDir, false);
          const behaviour = this.behaviour(image);
          container.logs = behaviour.logs ?? `${service} listening on :8080 (${image})\n`;
          if (behaviour.exitCode !== undefined) container.exit(behaviour.exitCode);
          progress += ` Container ${name}  ${existing.length ? 'Recreated' : 'Created'}\n Container ${name}  Started\n`;
        }
        return ok(progress);
      }
      case 'rm':
        for (const service of services) for (const old of this.service(project, service)) this.remove(old);
        return ok();
      case 'run': {
        const name = valueOf('--name');
        if (this.byRef(name))
          return fail(
            `Error response from daemon: Conflict. The container name "/${name}" is already in use by container "${this.byRef(name)!.id}".`,
          );
        const image = images[0]!;
        if (!this.images().has(image)) {
          const failed = pull(image);
          if (failed) return failed;
        }
        const container = this.create(project, services[0]!, image, workingDir, true, name);
        const script = this.migrator;
        container.logs = script.logs;
        void Promise.resolve(script.until).then(() => setImmediate(() => container.exit(script.exitCode)));
        return { code: 0, stdout: `${name}\n`, stderr: '' };
      }
      case 'logs': {
        const tail = Number(valueOf('--tail')) || Infinity;
        const lines = this.service(project, services[0] ?? '').flatMap((c) =>
          c.logs
            .split('\n')
            .filter(Boolean)
            .map((line) => `${c.name}  | ${line}`),
        );
        return {
          code: 0,
          stdout: lines
            .slice(-tail)
            .map((line) => `${line}\n`)
            .join(''),
          stderr: '',
        };
      }
      default:
        return fail(`fake compose: ${sub} is not emulated`);
    }
  }

  // ----- Docker CLI ----------------------------------------------------------------------------

  /**
   * `docker events`: the logged events from `--since`, then each as it happens, until `--until`
   * passes on the host's clock; then it ends by itself, whether or not anyone still waits for it.
   */
  private async events(args: readonly string[], options: RunOptions): Promise<CommandResult> {
    const valueOf = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
    const format = valueOf('--format');
    if (format !== '{{json .}}')
      return { code: 125, stdout: '', stderr: `fake docker events: format ${format} is not emulated\n` };
    const since = instant(valueOf('--since')) ?? Date.now();
    const until = instant(valueOf('--until'));
    if (until === undefined) throw new Error('fake docker events: a stream without --until never ends');
    const filters = new Map<string, string[]>();
    for (const [i, arg] of args.entries()) {
      if (args[i - 1] !== '--filter') continue;
      const [key = '', ...value] = arg.split('=');
      if (!['type', 'container', 'event'].includes(key))
        throw new Error(`fake docker events: filter ${arg} is not emulated`);
      filters.set(key, [...(filters.get(key) ?? []), value.join('=')]);
    }
    const wanted = (event: FakeEvent) =>
      event.time >= since &&
      event.time <= until &&
      (filters.get('type') ?? ['container']).includes('container') &&
      (filters
        .get('container')
        ?.some(
          (ref) => ref === event.id || ref === event.name || (ref.length >= 12 && event.id.startsWith(ref)),
        ) ??
        true) &&
      (filters
        .get('event')
        ?.some(
          (name) => name === event.action || (FUZZY_EVENTS.has(name) && event.action.startsWith(name)),
        ) ??
        true);
    let stdout = '';
    const emit = (event: FakeEvent) => {
      if (!wanted(event)) return;
      const line = `${eventJson(event)}\n`;
      stdout += line;
      options.onStdout?.(line);
    };
    for (const event of this.eventLog) emit(event);
    await new Promise<void>((resolve) => {
      // Output reaches the engine a turn later, as over a network; the end comes after what came before it.
      const stream = (event?: FakeEvent) => {
        if (event) setImmediate(() => emit(event));
        else end();
      };
      const end = () => {
        clearTimeout(timer);
        this.eventStreams.delete(stream);
        setImmediate(resolve);
      };
      const timer = setTimeout(end, Math.max(0, until - Date.now()));
      this.eventStreams.add(stream);
    });
    return { code: 0, stdout, stderr: '' };
  }

  private async docker(args: readonly string[], options: RunOptions): Promise<CommandResult> {
    const fail = (stderr: string, code = 1, stdout = ''): CommandResult => ({
      code,
      stdout,
      stderr: `${stderr}\n`,
    });
    const [sub, ...rest] = args;
    const valueOf = (flag: string) => (rest.includes(flag) ? rest[rest.indexOf(flag) + 1] : undefined);
    const targets = rest.filter(
      (arg, i) => !arg.startsWith('--') && !['--format', '--filter', '--tail'].includes(rest[i - 1] ?? ''),
    );
    switch (sub) {
      case 'ps': {
        const filters = rest.filter((_, i) => rest[i - 1] === '--filter');
        const found = this.containers.filter(
          (c) =>
            (rest.includes('--all') || c.running) &&
            filters.every((filter) => {
              const [kind, ...value] = filter.split('=');
              if (kind !== 'label') throw new Error(`fake docker ps: filter ${filter} is not emulated`);
              const [key = '', expected] = [value[0], value.slice(1).join('=')];
              return value.length === 1 ? key in c.labels : c.labels[key] === expected;
            }),
        );
        const format = valueOf('--format');
        const lines = found.map((c) =>
          format === '{{.Names}}' ? c.name : rest.includes('--no-trunc') ? c.id : c.id.slice(0, 12),
        );
        return { code: 0, stdout: lines.map((line) => `${line}\n`).join(''), stderr: '' };
      }
      case 'inspect': {
        const format = valueOf('--format');
        let stdout = '';
        let stderr = '';
        for (const target of targets) {
          const c = this.byRef(target);
          if (!c) {
            stderr += `Error: No such object: ${target}\n`;
            continue;
          }
          if (format === CONTAINER_STATE_FORMAT)
            stdout += `${JSON.stringify({
              id: c.id,
              image: c.image,
              imageId: c.imageId,
              status: c.status,
              exitCode: c.exitCode,
              restarting: c.status === 'restarting',
              restartCount: c.restartCount,
              startedAt: c.startedAt,
            })}\n`;
          else if (format === CONTAINER_STATUS_FORMAT) stdout += `${c.status} ${c.exitCode}\n`;
          else return fail(`fake docker inspect: format ${format} is not emulated`, 125);
        }
        return { code: stderr ? 1 : 0, stdout, stderr };
      }
      case 'image': {
        const [action, ...refs] = rest;
        const names = refs.filter((arg, i) => !arg.startsWith('--') && refs[i - 1] !== '--format');
        if (action === 'inspect') {
          const ids = names.map((ref) => this.images().get(ref));
          if (ids.some((id) => id === undefined))
            return fail(`Error: No such image: ${names[ids.indexOf(undefined)]}`);
          return { code: 0, stdout: ids.map((id) => `${id}\n`).join(''), stderr: '' };
        }
        if (action === 'rm') {
          const images = this.images();
          for (const ref of names) images.delete(ref);
          writeFileSync(
            join(this.dockerDir, 'images'),
            [...images].map(([name, value]) => `${name} ${value}\n`).join(''),
          );
          return { code: 0, stdout: '', stderr: '' };
        }
        return fail(`fake docker image ${action} is not emulated`, 125);
      }
      case 'wait': {
        const c = this.byRef(targets[0] ?? '');
        if (!c) return fail(`Error response from daemon: No such container: ${targets[0]}`);
        await c.stopped;
        return { code: 0, stdout: `${c.exitCode}\n`, stderr: '' };
      }
      case 'logs': {
        const c = this.byRef(targets[0] ?? '');
        if (!c) return fail(`Error response from daemon: No such container: ${targets[0]}`);
        const tail = Number(valueOf('--tail')) || Infinity;
        const text = c.logs
          .split('\n')
          .filter(Boolean)
          .slice(-tail)
          .map((line) => `${line}\n`)
          .join('');
        options.onStdout?.(text);
        if (rest.includes('--follow')) await c.stopped;
        return { code: 0, stdout: text, stderr: '' };
      }
      case 'events':
        return this.events(rest, options);
      case 'rm': {
        const c = this.byRef(targets[0] ?? '');
        if (!c) return fail(`Error response from daemon: No such container: ${targets[0]}`);
        if (c.running && !rest.includes('--force'))
          return fail(
            `Error response from daemon: cannot remove container "/${c.name}": container is running`,
          );
        this.remove(c);
        return { code: 0, stdout: `${targets[0]}\n`, stderr: '' };
      }
      default:
        return fail(`fake docker: ${sub} is not emulated`, 125);
    }
  }
}

/** A container event in the fake daemon's log; `time` in ms since the epoch. */
interface FakeEvent {
  time: number;
  action: string;
  id: string;
  name: string;
  image: string;
  attributes: Record<string, string>;
}

/** `docker events` matches `health_status` (and the exec events) without a status as a prefix. */
const FUZZY_EVENTS = new Set(['health_status', 'exec_create', 'exec_start']);

/** A `--since`/`--until` value: Unix seconds, or a date and time (RFC 3339). */
function instant(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`fake docker events: ${value} is not a time`);
  return ms;
}

/** An event as `docker events --format '{{json .}}'` prints it. */
function eventJson(event: FakeEvent): string {
  return JSON.stringify({
    status: event.action,
    id: event.id,
    from: event.image,
    Type: 'container',
    Action: event.action,
    Actor: { ID: event.id, Attributes: { image: event.image, name: event.name, ...event.attributes } },
    scope: 'local',
    time: Math.floor(event.time / 1000),
    timeNano: event.time * 1e6,
  });
}

/** One connection to a FakeHost, as the engine sees an SshExecutor. */
export class FakeExecutor implements HostExecutor {
  readonly where = 'deploy@fake-host:22';
  private gone: string | undefined;
  private readonly inFlight = new Set<(error: Error) => void>();

  constructor(
    readonly host: FakeHost,
    readonly connection: number,
  ) {}

  get lost(): boolean {
    return this.gone !== undefined;
  }

  /** The connection drops: every command in flight fails with ConnectionLostError, and every later one. */
  drop(reason = 'connection reset'): void {
    if (this.gone) return;
    this.gone = reason;
    const error = new ConnectionLostError(this.where, reason);
    for (const reject of this.inFlight) reject(error);
    this.inFlight.clear();
  }

  async close(): Promise<void> {
    this.drop('closed by the client');
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (this.gone) throw new ConnectionLostError(this.where, this.gone);
    const command = this.host.received(argv, this.connection);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let reject!: (error: Error) => void;
    const answered = new Promise<CommandResult>((resolve, fail) => {
      reject = fail;
      this.inFlight.add(fail);
      if (options.signal) {
        onAbort = () => fail(abortReason(options.signal!));
        if (options.signal.aborted) onAbort();
        options.signal.addEventListener('abort', onAbort, { once: true });
      }
      if (options.timeoutMs !== undefined) {
        const ms = options.timeoutMs;
        timer = setTimeout(() => fail(new CommandTimeoutError(argv, this.where, ms)), ms);
        timer.unref();
      }
      this.perform(command, options).then(resolve, fail);
    });
    try {
      command.result = await answered;
    } catch (error) {
      command.error = error as Error;
      throw error;
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
      this.inFlight.delete(reject);
      this.host.fire(command, 'end');
    }
    if (command.result.code !== 0 && options.check !== false)
      throw new CommandError(argv, command.result, this.where);
    return command.result;
  }

  private async perform(command: RecordedCommand, options: RunOptions): Promise<CommandResult> {
    // One turn of the event loop on the way to the host: the engine's synchronous code after the
    // call (listeners, bookkeeping) runs first, as it would over a network.
    await new Promise((resolve) => setImmediate(resolve));
    this.host.fire(command, 'start');
    if (this.gone) return never();
    const fault = this.host.faultFor(command);
    if (fault?.kind === 'lost' && fault.when !== 'after') {
      this.drop(`fault injected before ${command.label}`);
      return never();
    }
    if (fault?.kind === 'hang') return never();
    if (fault?.kind === 'delay') await fault.until;
    if (fault?.kind === 'fail')
      return {
        code: fault.code ?? 1,
        stdout: fault.stdout ?? '',
        stderr: fault.stderr ?? 'injected failure\n',
      };
    const result = await this.host.execute(command, options);
    if (fault?.kind === 'lost') {
      this.drop(`fault injected after ${command.label} ran`);
      return never();
    }
    return result;
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** What `docker image inspect --format {{.Id}}` says of a reference pulled here. */
export function imageIdOf(ref: string): string {
  return `sha256:${createHash('sha256').update(`image ${ref}`).digest('hex')}`;
}

/** A sha256 digest for a made-up image. */
export function fakeDigest(seed = randomBytes(8).toString('hex')): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`;
}

function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$VAR`. */
function interpolate(text: string, env: Record<string, string>, where: string): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (
      _,
      name: string | undefined,
      op: string | undefined,
      arg: string | undefined,
      bare: string | undefined,
    ) => {
      const key = (name ?? bare)!;
      const value = env[key];
      if (op?.endsWith('?') && !value)
        throw new Error(
          `error while interpolating ${where}: required variable ${key} is missing a value: ${arg}`,
        );
      if (op?.endsWith('-') && !value) return arg ?? '';
      return value ?? '';
    },
  );
}
