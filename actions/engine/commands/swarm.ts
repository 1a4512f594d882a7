// Docker Swarm argv lists for a manager node. Pure: no I/O. Values reach scripts as positional arguments.
import { sh } from './host.js';

/** Between the two JSON documents `observe` prints. */
export const TASKS_MARK = '--- tasks ---';

export const swarm = {
  /** `<state> <manager>`: `active true` on a manager node. */
  nodeState(): string[] {
    return ['docker', 'info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'];
  },

  /**
   * `docker stack deploy` in the release folder, with deploy.env's variables in its environment (the
   * command reads no env file itself; deploy.env's values are shell-safe by construction). It prints
   * the manager's clock first: update statuses older than that belong to an earlier deploy. Never waits
   * for convergence (`--detach=false` exits 0 after a rollback and never ends on a failing job).
   */
  stackDeploy(stack: string, file: string): string[] {
    return sh(
      `set -eu
stack=$1; file=$2
echo "since $(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"
set -a; . ./deploy.env; set +a
detach=""
if docker stack deploy --help 2>/dev/null | grep -q -- '--detach'; then detach="--detach=true"; fi
exec docker stack deploy $detach --quiet --with-registry-auth --compose-file "$file" "$stack"`,
      stack,
      file,
    );
  },

  /** Pulls images on the manager (with the login of the command it runs in): the registry is checked before anything changes. */
  pull(images: readonly string[]): string[] {
    return sh('for image in "$@"; do docker pull --quiet "$image" >/dev/null || exit $?; done', ...images);
  },

  /**
   * The stack's services and their tasks, finished ones too (`docker inspect` JSON), in one round
   * trip: services, TASKS_MARK, tasks. A task removed meanwhile is left out.
   */
  observe(stack: string): string[] {
    return sh(
      `stack=$1
# A service removed between the listing and the inspect (a finished migrator job) fails the inspect: list again.
for attempt in 1 2 3; do
  ids=$(docker service ls --quiet --filter "label=com.docker.stack.namespace=$stack") || exit 1
  if [ -z "$ids" ]; then services='[]'; break; fi
  if services=$(docker service inspect $ids 2>/dev/null); then break; fi
  [ "$attempt" -lt 3 ] || { docker service inspect $ids >/dev/null; exit 1; }
done
printf '%s\n' "$services"
echo '${TASKS_MARK}'
tasks=$(docker service ps --quiet --no-trunc $ids 2>/dev/null)
if [ -z "$tasks" ]; then echo '[]'; else docker inspect $tasks 2>/dev/null || true; fi`,
      stack,
    );
  },

  /** Starts Swarm's own rollback of a service to its previous spec, without waiting for it. */
  rollback(service: string): string[] {
    return ['docker', 'service', 'rollback', '--detach', '--quiet', service];
  },

  remove(...services: string[]): string[] {
    return ['docker', 'service', 'rm', ...services];
  },

  /** The last answers of a container's healthcheck, one per line (nothing when it has none or is gone). */
  healthLog(containerId: string): string[] {
    return [
      'docker',
      'inspect',
      '--format',
      '{{with .State.Health}}{{range .Log}}{{println .ExitCode .Output}}{{end}}{{end}}',
      containerId,
    ];
  },

  /** The last lines a service's tasks printed. */
  logTail(service: string, lines: number): string[] {
    return ['docker', 'service', 'logs', '--raw', '--no-task-ids', '--tail', String(lines), service];
  },
};
