// What a Swarm stack looks like from `swarm.observe`, and whether its services converged. Pure.
import { z } from 'zod';
import { TASKS_MARK } from '../commands/swarm.js';

export interface UpdateStatus {
  state: string;
  /** Epoch ms (manager clock). */
  startedAt: number;
  message: string;
}

export interface SwarmService {
  id: string;
  name: string;
  version: number;
  image: string;
  /** Undefined for a global service (one task per node). */
  replicas?: number;
  job: boolean;
  update?: UpdateStatus;
  /** What a task's container runs (see containerFingerprint): a task runs the current spec when its own equals it. */
  containerSpec: string;
  /** The whole spec as JSON: `docker stack deploy` updates every service, but only a changed spec is a change. */
  spec: string;
}

export interface SwarmTask {
  id: string;
  serviceId: string;
  image: string;
  state: string;
  desiredState: string;
  /** Epoch ms of the last state change. */
  since: number;
  message: string;
  error?: string;
  exitCode?: number;
  /** The task's container (on its node), once it has one. */
  containerId?: string;
  containerSpec: string;
}

export interface StackView {
  services: SwarmService[];
  tasks: SwarmTask[];
}

/** A Swarm update that ended in a rollback or a pause is a failed update. */
const FAILED_UPDATE = /^(rollback_started|rollback_paused|rollback_completed|paused)$/;
/** Task states past which a task never runs again. */
export const TERMINAL_TASK = /^(complete|failed|rejected|shutdown|orphaned|remove)$/;

export function parseStackView(stdout: string): StackView {
  const at = stdout.indexOf(TASKS_MARK);
  if (at < 0) throw new Error(`unexpected output from the Swarm manager: ${stdout.slice(0, 200)}`);
  const services = parseJsonArray(stdout.slice(0, at), serviceJson, 'service').map(toService);
  const tasks = parseJsonArray(stdout.slice(at + TASKS_MARK.length), taskJson, 'task').map(toTask);
  return { services, tasks };
}

/** An RFC 3339 time with up to nanoseconds (Docker's) as epoch ms; 0 when there is none. */
export function parseInstant(text: string): number {
  return Date.parse(text.replace(/(\.\d{3})\d+/, '$1')) || 0;
}

const containerSpecJson = z.record(z.string(), z.unknown());

const serviceJson = z.object({
  ID: z.string(),
  Version: z.object({ Index: z.number() }).optional(),
  Spec: z.looseObject({
    Name: z.string(),
    TaskTemplate: z.object({ ContainerSpec: containerSpecJson.optional() }).optional(),
    Mode: z
      .object({
        Replicated: z.object({ Replicas: z.number().optional() }).optional(),
        ReplicatedJob: z.unknown().optional(),
        GlobalJob: z.unknown().optional(),
      })
      .optional(),
  }),
  UpdateStatus: z
    .object({
      State: z.string().optional(),
      StartedAt: z.string().optional(),
      Message: z.string().optional(),
    })
    .optional(),
});

const taskJson = z.object({
  ID: z.string(),
  ServiceID: z.string(),
  DesiredState: z.string().optional(),
  Spec: z.object({ ContainerSpec: containerSpecJson.optional() }).optional(),
  Status: z
    .object({
      Timestamp: z.string().optional(),
      State: z.string().optional(),
      Message: z.string().optional(),
      Err: z.string().optional(),
      ContainerStatus: z
        .object({ ExitCode: z.number().optional(), ContainerID: z.string().optional() })
        .optional(),
    })
    .optional(),
});

function parseJsonArray<T>(text: string, schema: z.ZodType<T>, what: string): T[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const parsed = z.array(schema).safeParse(JSON.parse(trimmed));
  if (!parsed.success)
    throw new Error(`unexpected ${what} JSON from the Swarm manager: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * The parts of a container spec that say what runs. A task's copy of the spec leaves out some of the
 * service's fields (e.g. StopGracePeriod), so whole specs never compare equal.
 */
const RUNS = ['Image', 'Command', 'Args', 'Env', 'Dir', 'User', 'Healthcheck', 'Mounts'] as const;

function containerFingerprint(spec: Record<string, unknown>): string {
  return JSON.stringify(RUNS.map((key) => spec[key] ?? null));
}

function toService(raw: z.infer<typeof serviceJson>): SwarmService {
  const container = raw.Spec.TaskTemplate?.ContainerSpec ?? {};
  const mode = raw.Spec.Mode ?? {};
  const update = raw.UpdateStatus;
  return {
    id: raw.ID,
    name: raw.Spec.Name,
    version: raw.Version?.Index ?? 0,
    image: String(container.Image ?? ''),
    replicas: mode.Replicated ? (mode.Replicated.Replicas ?? 1) : undefined,
    job: Boolean(mode.ReplicatedJob ?? mode.GlobalJob),
    update: update?.State
      ? {
          state: update.State,
          startedAt: parseInstant(update.StartedAt ?? ''),
          message: update.Message ?? '',
        }
      : undefined,
    containerSpec: containerFingerprint(container),
    spec: JSON.stringify(raw.Spec),
  };
}

function toTask(raw: z.infer<typeof taskJson>): SwarmTask {
  const status = raw.Status ?? {};
  const container = raw.Spec?.ContainerSpec ?? {};
  return {
    id: raw.ID,
    serviceId: raw.ServiceID,
    image: String(container.Image ?? ''),
    state: status.State ?? '',
    desiredState: raw.DesiredState ?? '',
    since: parseInstant(status.Timestamp ?? ''),
    message: status.Message ?? '',
    error: status.Err || undefined,
    exitCode: status.ContainerStatus?.ExitCode,
    containerId: status.ContainerStatus?.ContainerID || undefined,
    containerSpec: containerFingerprint(container),
  };
}

export type ServiceProgress =
  { kind: 'converged' } | { kind: 'waiting'; detail: string } | { kind: 'failed'; reason: string };

/** The update of this deploy: the spec it set, and the manager's clock when it began. */
export interface WantedSpec {
  image: string;
  /** Epoch ms on the manager's clock just before `docker stack deploy`. */
  since: number;
}

/**
 * Where one service is after a deploy. Converged: its spec is still the one the deploy set, its
 * update (if this deploy started one) `completed` after the monitor window, and every task meant to
 * run is running (healthy, when it has a healthcheck) the current spec. A status older than the deploy
 * is ignored: it stays from an earlier update when this deploy did not change the service.
 */
export function serviceProgress(
  service: SwarmService,
  tasks: SwarmTask[],
  wanted: WantedSpec,
): ServiceProgress {
  const update = updateSince(service, wanted.since);
  if (update && FAILED_UPDATE.test(update.state))
    return {
      kind: 'failed',
      reason: `Swarm's update of ${service.name} ended ${update.state}: ${update.message}`,
    };
  if (service.image !== wanted.image)
    return {
      kind: 'failed',
      reason: `${service.name} no longer has the deployed spec: it runs ${service.image}${update ? ` (${update.state}: ${update.message})` : ''}`,
    };
  const running = tasksRunning(service, tasks);
  if (update?.state === 'updating') return { kind: 'waiting', detail: `updating: ${running.detail}` };
  if (!running.all) return { kind: 'waiting', detail: running.detail };
  return { kind: 'converged' };
}

/**
 * Whether every task meant to run runs the service's current spec (`running` comes after the
 * healthcheck passed), and enough of them for its replicas.
 */
export function tasksRunning(service: SwarmService, tasks: SwarmTask[]): { all: boolean; detail: string } {
  const own = tasks.filter((task) => task.serviceId === service.id);
  const meant = own.filter((task) => task.desiredState === 'running');
  const current = meant.filter(
    (task) => task.state === 'running' && task.containerSpec === service.containerSpec,
  );
  const enough = service.replicas === undefined ? current.length > 0 : current.length >= service.replicas;
  return {
    all: enough && current.length === meant.length,
    detail: `${current.length}/${service.replicas ?? meant.length} task(s) running the new spec${lastFailure(own)}`,
  };
}

/** After a revert: the spec before the deploy is back, no update or rollback is under way, and its tasks run. */
export function restoredProgress(
  service: SwarmService,
  tasks: SwarmTask[],
  earlierSpec: string,
): ServiceProgress {
  if (service.containerSpec !== earlierSpec)
    return { kind: 'waiting', detail: `${service.name}: the previous spec is not back yet` };
  if (service.update && /^(updating|rollback_started)$/.test(service.update.state))
    return { kind: 'waiting', detail: `${service.name}: ${service.update.state}` };
  const running = tasksRunning(service, tasks);
  return running.all
    ? { kind: 'converged' }
    : { kind: 'waiting', detail: `${service.name}: ${running.detail}` };
}

/**
 * The service's update status when an update started at or after `since` (the manager's clock at the
 * deploy); an older one was left by an earlier update and says nothing about this deploy.
 */
export function updateSince(service: SwarmService, since: number): UpdateStatus | undefined {
  return service.update && service.update.startedAt >= since ? service.update : undefined;
}

/** The latest task that failed, in a few words: what a user needs when a deploy does not converge. */
export function lastFailure(tasks: SwarmTask[]): string {
  const failed = tasks
    .filter((task) => task.state === 'failed' || task.state === 'rejected')
    .sort((a, b) => b.since - a.since)[0];
  if (!failed) return '';
  return `; latest failed task: ${failed.error ?? failed.message}${failed.exitCode ? ` (exit code ${failed.exitCode})` : ''}`;
}

/** A job's outcome: undefined while it runs; its exit code (and Swarm's error) once it ended. */
export function jobOutcome(tasks: SwarmTask[]): { exitCode: number; error?: string } | undefined {
  if (tasks.length === 0 || tasks.some((task) => !TERMINAL_TASK.test(task.state))) return undefined;
  const failed = tasks.find((task) => task.state !== 'complete');
  if (!failed) return { exitCode: 0 };
  return { exitCode: failed.exitCode || 1, error: failed.error ?? failed.message };
}

/**
 * The task a failed update names ("… early termination of task <id>"): a task that never turned
 * healthy ends without an error of its own, so its healthcheck's answers are the reason.
 */
export function taskNamedBy(message: string, tasks: SwarmTask[]): SwarmTask | undefined {
  const id = /task ([a-z0-9]{10,})/.exec(message)?.[1];
  return id ? tasks.find((task) => task.id.startsWith(id)) : undefined;
}
