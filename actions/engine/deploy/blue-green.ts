import { compose } from '../commands/compose.js';
import { docker, type ContainerState } from '../commands/docker.js';
import { host } from '../commands/host.js';
import {
  otherSlot,
  parseSiteSlots,
  proxy,
  proxySiteFile,
  type Slot,
  type SlotPorts,
} from '../commands/proxy.js';
import { lastLines } from '../exec/executor.js';
import { formatMs, type ReadinessEndpoint } from '../readiness/index.js';
import { containerState, serviceContainers } from '../state/containers.js';
import type { ProxySettings, SwitchSettings } from '../types/switching.js';
import type { WatchedApp } from './app-watch.js';
import { blueGreenServiceProblem, parseServiceConfig, singleExposedPort } from './blue-green-config.js';
import { AppFailure, hostCommandFailure } from './failures.js';
import type { StrategyContext, SwitchStrategy } from './strategy.js';

type BlueGreen = Extract<SwitchSettings, { strategy: 'blue-green' }>;

/** Label on a blue-green app container: the release it runs. */
export const RELEASE_LABEL = 'deployer.release';

/**
 * Starts the new release's app container next to the running one, checks it directly, switches the
 * proxy to it, and after the commit drains and removes the old one. Until the switch the old
 * container serves every request, so undoing a failed release is removing the new container.
 */
export class BlueGreenStrategy implements SwitchStrategy {
  readonly steps = { prepare: 'proxy', launch: 'start', cutOver: 'switch', retire: 'drain' };
  private readonly settings: BlueGreen;
  private readonly containerName: string;
  /** The proxy's folder on the host, as the running proxy says. */
  private proxyDir = '';
  /** This environment's site file before the deploy ('' when there was none). */
  private previousSite = '';
  /** The slot that serves before the switch, and the one the new release takes. */
  private liveSlot: Slot = 'blue';
  private newSlot: Slot = 'blue';
  private slots: SlotPorts | undefined;
  /** App containers of the environment before the launch: retired after the commit. */
  private oldContainers: ContainerState[] = [];
  private endpoint: Extract<ReadinessEndpoint, { kind: 'through-host' }> | undefined;
  /** How the cut-over went about it: flipping the live slot, or (re)writing the site. */
  private switchedBy: 'none' | 'slot' | 'site' = 'none';

  constructor(private readonly context: StrategyContext) {
    if (context.request.switching.strategy !== 'blue-green') throw new Error('not a blue-green deploy');
    this.settings = context.request.switching;
    const { projectName, services } = context.request.target;
    this.containerName = `${projectName}-${services.app}-${context.releaseId}`.toLowerCase();
  }

  private get proxy(): ProxySettings {
    return this.settings.proxy;
  }

  private get siteName(): string {
    return this.context.request.target.projectName;
  }

  async prepare(): Promise<void> {
    const { link, log } = this.context;
    const result = await link.run(
      proxy.ensure(
        { container: this.proxy.container, image: this.proxy.image, dir: this.proxy.dir },
        this.siteName,
      ),
      { check: false },
    );
    const found = /^proxy (running|started|created) (\S+) (\S+)$/m.exec(result.stdout);
    if (result.code !== 0 || !found)
      throw new AppFailure(
        `could not start the proxy ${this.proxy.container} (${this.proxy.image}) on ${link.where}: ${lastLines(result.stderr || result.stdout, 10)}`,
        'other',
      );
    const [, state, dir, image] = found as unknown as [string, string, string, string];
    this.proxyDir = dir;
    this.previousSite = Buffer.from(/^site (\S*)$/m.exec(result.stdout)?.[1] ?? '', 'base64').toString(
      'utf8',
    );
    this.liveSlot = /^live green$/m.test(result.stdout) ? 'green' : 'blue';
    const free = /^free (\d+) (\d+)$/m.exec(result.stdout);
    this.slots =
      parseSiteSlots(this.previousSite) ??
      (free ? { blue: Number(free[1]), green: Number(free[2]) } : undefined);
    if (!this.slots)
      throw new AppFailure(
        `no free loopback ports for ${this.siteName}'s blue and green slots on ${link.where} (20000-29999)`,
        'other',
      );
    this.newSlot = this.previousSite ? otherSlot(this.liveSlot) : 'blue';
    if (state === 'running')
      log.info('proxy', `${this.proxy.container} runs (${image}, configuration in ${dir})`);
    else log.info('proxy', `${state} ${this.proxy.container} (${image}, configuration in ${dir})`);
    if (state === 'running' && image !== this.proxy.image)
      log.warn(
        'proxy',
        `${this.proxy.container} runs ${image}, not proxy-image ${this.proxy.image}: a deploy never restarts the proxy; recreate it at a quiet moment to change its image`,
      );
  }

  async launch(): Promise<void> {
    const { link, request, project, releaseDir, fence, releaseId } = this.context;
    const app = request.target.services.app;
    const [config, exposed, existing] = await Promise.all([
      link.run(host.fenced(fence, compose.config(project), releaseDir), { check: false }),
      this.settings.appPort
        ? undefined
        : link.run(docker.exposedPorts(request.release.appImage), { check: false }),
      serviceContainers(link, app, { name: project.projectName }, { all: true }),
    ]);
    if (config.code !== 0)
      throw hostCommandFailure(
        'other',
        config,
        (stderr) => `\`compose config\` failed: ${lastLines(stderr, 10)}`,
      );
    const service = parseServiceConfig(config.stdout, app);
    const problem = blueGreenServiceProblem(service, app);
    if (problem) throw new AppFailure(problem, 'other');
    const port = this.settings.appPort ?? singleExposedPort(exposed?.stdout ?? '', request.release.appImage);
    const hostPort = this.slots![this.newSlot];
    // Whatever holds the free slot does not serve (an interrupted deploy's container, a stopped one).
    const inTheWay = existing.filter((container) => container.hostPorts?.includes(hostPort));
    if (inTheWay.length > 0) {
      this.context.log.info(
        'start',
        `removing ${describeContainers(inTheWay)}, which holds the ${this.newSlot} slot (127.0.0.1:${hostPort}) but does not serve`,
      );
      const removed = await link.run(
        host.fenced(fence, docker.removeContainer(...inTheWay.map((container) => container.id))),
        { check: false },
      );
      if (removed.code !== 0)
        throw hostCommandFailure(
          'other',
          removed,
          (stderr) => `could not free the ${this.newSlot} slot: ${lastLines(stderr, 5)}`,
        );
    }
    this.oldContainers = existing.filter((container) => !inTheWay.includes(container));

    const result = await link.run(
      host.launchApp(
        fence,
        compose.runApp(project, app, {
          name: this.containerName,
          port,
          hostPort,
          labels: { [RELEASE_LABEL]: releaseId },
        }),
        { name: this.containerName, restart: service?.restart ?? '', port },
        releaseDir,
      ),
      { check: false },
    );
    const published = /^port (?:127\.0\.0\.1|\[::1\]|::1):(\d+)$/m.exec(result.stdout)?.[1];
    if (result.code !== 0 || !published)
      throw hostCommandFailure(
        'other',
        result,
        (stderr) => `starting ${this.containerName} failed: ${lastLines(stderr, 10)}`,
      );
    this.endpoint = {
      kind: 'through-host',
      scheme: 'http',
      host: '127.0.0.1',
      port: Number(published),
      path: readinessPath(request.readiness.endpoint),
    };
    this.context.log.info(
      'start',
      `${this.containerName} started in the ${this.newSlot} slot next to ${describeContainers(this.oldContainers)}; its port ${port} is 127.0.0.1:${published} on the host`,
    );
  }

  watched(): WatchedApp {
    const { request } = this.context;
    if (!this.endpoint) throw new Error('the new app container was not started');
    return {
      service: request.target.services.app,
      image: request.release.appImage,
      endpoint: this.endpoint,
      state: (executor) => containerState(executor, this.containerName),
      logTail: async (executor) => {
        const result = await executor.run(docker.logTail(this.containerName, 30), { check: false });
        return lastLines(`${result.stdout}${result.stderr}`, 30);
      },
    };
  }

  async cutOver(): Promise<void> {
    const { log, request } = this.context;
    const site = proxySiteFile({
      address: this.proxy.address,
      dir: this.proxyDir,
      name: this.siteName,
      slots: this.slots!,
      note: `deployer: ${request.target.environment} (${request.target.projectName})`,
    });
    const began = Date.now();
    if (site === this.previousSite) {
      this.switchedBy = 'slot';
      await this.setLive(this.newSlot);
    } else {
      // A new site, or its address changed: the one case that reloads the proxy.
      this.switchedBy = 'site';
      await this.writeSite(site, this.newSlot);
    }
    log.info(
      'switch',
      `${this.proxy.address} is served by ${this.containerName} (${this.newSlot} slot; ${this.switchedBy === 'slot' ? 'switched' : 'proxy reconfigured'} in ${Date.now() - began} ms)`,
    );
  }

  async retire(signal: AbortSignal): Promise<string | undefined> {
    const { link, log } = this.context;
    if (this.oldContainers.length === 0) return undefined;
    const seconds = Math.ceil(this.settings.drainTimeoutMs / 1000);
    log.info(
      'drain',
      `stopping ${describeContainers(this.oldContainers)}: requests in flight have up to ${formatMs(this.settings.drainTimeoutMs)} to finish`,
    );
    const ids = this.oldContainers.map((container) => container.id);
    const result = await link.run(host.retire(seconds, ids), {
      check: false,
      signal,
      timeoutMs: this.settings.drainTimeoutMs + 60_000,
    });
    if (result.code !== 0)
      return `the old app container(s) could not all be removed: ${lastLines(result.stderr || result.stdout, 5)}`;
    log.info('drain', `${describeContainers(this.oldContainers)} stopped and removed`);
    return undefined;
  }

  /**
   * Removes the new container. Before the switch the old one never stopped serving; after it (a
   * lost connection or a cancel before the commit) the proxy is switched back first.
   */
  async revert(): Promise<{ restored: boolean; message: string }> {
    const { link, log, previous } = this.context;
    const messages: string[] = [];
    let proxyRestored = true;
    if (this.switchedBy !== 'none') {
      try {
        if (this.switchedBy === 'slot') await this.setLive(this.liveSlot);
        else if (this.previousSite) await this.writeSite(this.previousSite, this.liveSlot);
        else await this.removeSite();
        messages.push('the proxy was switched back');
      } catch (error) {
        proxyRestored = false;
        messages.push(`switching the proxy back failed: ${(error as Error).message}`);
      }
    }
    const removed = await link.run(docker.removeContainer(this.containerName), { check: false });
    messages.push(
      removed.code === 0 || /No such container/i.test(removed.stderr)
        ? `the new container ${this.containerName} was removed`
        : `the new container ${this.containerName} could not be removed: ${lastLines(removed.stderr, 3)}`,
    );
    if (!previous) {
      messages.unshift('first deploy here');
      return { restored: false, message: messages.join('; ') };
    }
    const running = this.oldContainers.filter((container) => container.status === 'running');
    const restored = proxyRestored && running.length > 0;
    if (restored)
      messages.push(
        `${previous.record?.id ?? 'the previous release'} kept serving (${describeContainers(running)})`,
      );
    log[restored ? 'info' : 'error']('rollback', messages.join('; '));
    return { restored, message: messages.join('; ') };
  }

  recordFields() {
    return { strategy: 'blue-green' as const, container: this.containerName };
  }

  private site() {
    return { container: this.proxy.container, dir: this.proxyDir, name: this.siteName };
  }

  private setLive(slot: Slot): Promise<void> {
    return this.proxyCommand(proxy.setLive(this.context.fence, this.site(), slot), /^live /m);
  }

  private writeSite(text: string, slot: Slot): Promise<void> {
    return this.proxyCommand(proxy.writeSite(this.context.fence, this.site(), slot), /^switched$/m, text);
  }

  private removeSite(): Promise<void> {
    return this.proxyCommand(proxy.removeSite(this.context.fence, this.site()), /^removed$/m);
  }

  private async proxyCommand(argv: string[], done: RegExp, stdin?: string): Promise<void> {
    const result = await this.context.link.run(argv, { stdin, check: false, timeoutMs: 90_000 });
    if (result.code !== 0 || !done.test(result.stdout))
      throw hostCommandFailure(
        'other',
        result,
        (stderr) => `the proxy refused the change: ${lastLines(stderr, 8)}`,
      );
  }
}

/** The readiness path asked on the new container: the path of the deploy's readiness endpoint. */
function readinessPath(endpoint: ReadinessEndpoint | undefined): string {
  if (!endpoint) throw new Error('strategy: blue-green needs ready-check: http');
  if (endpoint.kind === 'through-host') return endpoint.path;
  const url = new URL(endpoint.url);
  return `${url.pathname}${url.search}`;
}

function describeContainers(containers: ContainerState[]): string {
  if (containers.length === 0) return 'no other app container';
  return containers.map((container) => `${container.name ?? container.id.slice(0, 12)}`).join(', ');
}
