// Host-side file, lock and state operations as argv lists. Each script below is a constant; every
// value reaches it as a positional argument ("$1", "$2"…), never pasted into the script text.

/** `sh -c script` with `args` as its positional parameters: the one way values reach a script. */
export const sh = (script: string, ...args: string[]): string[] => ['sh', '-c', script, 'sh', ...args];

/** Exit codes the scripts below use to say what happened. */
export const EXIT = {
  /** Another deploy holds the lock. */
  lockHeld: 75,
  /** A migrator of this environment is still running. */
  migratorBusy: 76,
  /** The host's env file does not exist. */
  noEnvFile: 3,
  /** The release to restore has no folder of its own on the host (pruned, or deployed by wave 1). */
  noReleaseFiles: 4,
  /** state.json could not be written. */
  stateUnwritable: 80,
  /** The lock does not carry our token any more: another deploy took it over. */
  leaseLost: 86,
} as const;

// Takes `$lock` (a hard link fails when the name exists): the first line is the expiry in epoch
// seconds (host clock), then the owner. An expired lock is taken over under a guard directory.
const ACQUIRE = `now=$(date +%s)
tmp="$lock.tmp.$$"
printf '%s\\n%s\\n' "$((now + ttl))" "$owner" > "$tmp"
if ln "$tmp" "$lock" 2>/dev/null; then rm -f "$tmp"; echo "lock acquired"
else
  expiry=$(head -n 1 "$lock" 2>/dev/null || echo 0)
  case "$expiry" in ''|*[!0-9]*) expiry=0 ;; esac
  guard="$lock.takeover"
  # A takeover guard left by a killed deploy is itself stale after 60 s.
  find "$(dirname "$lock")" -maxdepth 1 -name lock.takeover -mmin +1 -exec rmdir {} \\; 2>/dev/null || true
  taken=""
  if [ "$expiry" -lt "$now" ] && mkdir "$guard" 2>/dev/null; then
    if [ "$(head -n 1 "$lock" 2>/dev/null || echo 0)" = "$expiry" ]; then
      old=$(base64 < "$lock" 2>/dev/null | tr -d '\\n' || true)
      rm -f "$lock"
      if ln "$tmp" "$lock" 2>/dev/null; then taken=1; echo "lock took-over $old"; fi
    fi
    rmdir "$guard"
  fi
  rm -f "$tmp"
  if [ -z "$taken" ]; then echo "lock held $(base64 < "$lock" 2>/dev/null | tr -d '\\n')"; exit ${EXIT.lockHeld}; fi
fi`;

/** Fails with EXIT.leaseLost unless `$lock` still carries `$token`. */
export const FENCE_SCRIPT = `if ! grep -qF -- "$token" "$lock" 2>/dev/null; then echo "the deploy lock $lock is no longer held by this deploy" >&2; exit ${EXIT.leaseLost}; fi`;

/** What every mutating host command checks: the lock file still carries this deploy's token. */
export interface Fence {
  lock: string;
  token: string;
}

export interface BeginArgs {
  stateDir: string;
  lockOwner: string;
  token: string;
  ttlSeconds: number;
  /** The host's env file (runtime settings and secrets). */
  envFile: string;
  releaseDir: string;
  /** Where the release's own copy of the env file goes (its name inside releaseDir). */
  envFileName: string;
  /** A release folder to copy compose file and env file from (rollback), or the compose file's text. */
  source: { fromRelease: string } | { composeText: string };
  deployEnv: string;
  currentLink: string;
  /** More files of the release (Swarm's stack files): written from `text`, or copied from `fromRelease`. */
  extraFiles?: Array<{ name: string; text: string }>;
  images: string[];
}

export const host = {
  mkdirs(...paths: string[]): string[] {
    return ['mkdir', '-p', '--', ...paths];
  },

  /** Writes stdin to `path` atomically (temp file in the same folder + rename) with `mode`. */
  writeFileAtomic(path: string, mode = '600'): string[] {
    return sh(
      'set -e; umask 077; tmp="$1.tmp.$$"; cat > "$tmp"; chmod "$2" "$tmp"; mv -f "$tmp" "$1"',
      path,
      mode,
    );
  },

  /** Prints the file, or nothing when it does not exist (exit 0 either way). */
  readFileIfExists(path: string): string[] {
    return sh('if [ -f "$1" ]; then cat "$1"; fi', path);
  },

  /** Prints `present` and the file, or `absent`: an empty file is not the same as none. */
  readState(path: string): string[] {
    return sh('if [ -e "$1" ]; then echo present; cat "$1"; else echo absent; fi', path);
  },

  remove(...paths: string[]): string[] {
    return ['rm', '-rf', '--', ...paths];
  },

  /**
   * The start of a deploy in one round trip: take the lock (or report who holds it), remove login
   * folders a killed deploy left, check the env file, print the state and the current release, write
   * the release's own files, and say whether its images are already on the host.
   */
  begin(args: BeginArgs): string[] {
    const from = 'fromRelease' in args.source ? args.source.fromRelease : '';
    const text = 'composeText' in args.source ? args.source.composeText : '';
    return sh(
      `set -eu
state_dir=$1; owner=$2; token=$3; ttl=$4; env_src=$5; release_dir=$6; env_name=$7; from=$8; compose_text=$9
shift 9
deploy_env=$1; current_link=$2; extra=$3; shift 3
lock="$state_dir/lock"
# Few processes: each one costs milliseconds on a small host.
[ -d "$state_dir/releases" ] || { mkdir -p "$state_dir/releases" && chmod 700 "$state_dir"; }
${ACQUIRE}
for stale in "$state_dir"/login.*; do [ ! -e "$stale" ] || rm -rf "$stale"; done
if [ ! -f "$env_src" ]; then rm -f "$lock"; echo "no-env-file"; exit ${EXIT.noEnvFile}; fi
echo "current $(readlink "$current_link" 2>/dev/null)"
umask 077; mkdir "$release_dir" 2>/dev/null || [ -d "$release_dir" ]
if [ -n "$from" ]; then
  [ -f "$from/docker-compose.yml" ] && [ -f "$from/$env_name" ] || { rm -f "$lock"; echo "no-release-files"; exit ${EXIT.noReleaseFiles}; }
  umask 022; cp "$from/docker-compose.yml" "$release_dir/docker-compose.yml"
  umask 077; cp "$from/$env_name" "$release_dir/$env_name"
else
  umask 022; printf '%s' "$compose_text" > "$release_dir/docker-compose.yml"
  umask 077; cp "$env_src" "$release_dir/$env_name"
fi
umask 022
while [ "$extra" -gt 0 ]; do
  if [ -n "$from" ]; then
    [ -f "$from/$1" ] || { rm -f "$lock"; echo "no-release-files"; exit ${EXIT.noReleaseFiles}; }
    cp "$from/$1" "$release_dir/$1"
  else printf '%s' "$2" > "$release_dir/$1"; fi
  shift 2; extra=$((extra - 1))
done
if [ -n "$from" ]; then for file in "$from"/config.*; do [ ! -f "$file" ] || cp "$file" "$release_dir/"; done; fi
umask 077
printf '%s' "$deploy_env" > "$release_dir/deploy.env"
if docker image inspect "$@" >/dev/null 2>&1; then echo "images present"; else echo "images missing"; fi
# Last, as it is: everything after this line is state.json.
if [ -e "$state_dir/state.json" ]; then echo "state present"; cat "$state_dir/state.json"; else echo "state absent"; fi`,
      args.stateDir,
      args.lockOwner,
      args.token,
      String(args.ttlSeconds),
      args.envFile,
      args.releaseDir,
      args.envFileName,
      from,
      text,
      args.deployEnv,
      args.currentLink,
      String(args.extraFiles?.length ?? 0),
      ...(args.extraFiles ?? []).flatMap((file) => [file.name, file.text]),
      ...args.images,
    );
  },

  /**
   * Which Compose the host has (`wanted`: auto, `docker compose` or `docker-compose`), printed as
   * `<command> <version>`. Asking Compose costs ~0.2 s of CPU, so the answer is cached in the state
   * folder under a signature of the installed binaries (path, size, date): an upgrade asks again.
   */
  detectCompose(stateDir: string, wanted: string): string[] {
    return sh(
      `state_dir=$1; wanted=$2; cache="$state_dir/compose.cache"
sig=$( for dir in "$HOME/.docker/cli-plugins" /usr/local/lib/docker/cli-plugins /usr/local/libexec/docker/cli-plugins /usr/lib/docker/cli-plugins /usr/libexec/docker/cli-plugins; do ls -lLnd "$dir/docker-compose" 2>/dev/null; done
  standalone=$(command -v docker-compose) && ls -lLnd "$standalone"; command -v docker; echo "$wanted" )
if [ -f "$cache" ] && [ "$(sed '$d' "$cache")" = "$sig" ]; then tail -n 1 "$cache"; exit 0; fi
found=""
if [ "$wanted" != docker-compose ] && v=$(docker compose version --short 2>/dev/null); then found="docker compose $v"
elif [ "$wanted" != "docker compose" ] && v=$(docker-compose version --short 2>/dev/null); then found="docker-compose $v"
else echo "no working $wanted" >&2; exit 1; fi
if mkdir -p "$state_dir" 2>/dev/null && printf '%s\n%s\n' "$sig" "$found" > "$cache.tmp.$$" 2>/dev/null; then mv -f "$cache.tmp.$$" "$cache"; fi
echo "$found"`,
      stateDir,
      wanted,
    );
  },

  /**
   * Runs `argv` (a `docker events`) over a window of the daemon's events: from `since` (a time the
   * daemon gave, e.g. a container's StartedAt: no clock skew, nothing missed before the command
   * starts) until the host's clock says `seconds` more have passed. So the command ends by itself on
   * the host, whatever becomes of the connection that started it.
   */
  eventWindow(since: string, seconds: number, argv: readonly string[]): string[] {
    return sh(
      `since=$1; seconds=$2; shift 2
case $seconds in ''|*[!0-9]*) echo "not a number of seconds: $seconds" >&2; exit 2 ;; esac
exec "$@" --since "$since" --until "$(( $(date +%s) + seconds ))"`,
      since,
      String(seconds),
      ...argv,
    );
  },

  /** Runs `argv` only while the lock carries `token`: the check and the act are one command on the host. */
  fenced(fence: Fence, argv: readonly string[], cwd?: string): string[] {
    return sh(
      `lock=$1; token=$2; dir=$3; shift 3\n${FENCE_SCRIPT}\n[ -z "$dir" ] || cd "$dir"\nexec "$@"`,
      fence.lock,
      fence.token,
      cwd ?? '',
      ...argv,
    );
  },

  /**
   * Logs in with the password on stdin and runs `argv` (a pull) with that login, all in one
   * invocation: the temporary Docker config is removed by a trap however the pull ends, and
   * `begin` removes one a killed deploy left behind.
   */
  withRegistryLogin(
    fence: Fence,
    loginDir: string,
    registry: { server: string; username: string },
    argv: readonly string[],
    cwd: string,
  ): string[] {
    return sh(
      `set -u
lock=$1; token=$2; cfg=$3; server=$4; user=$5; dir=$6; shift 6
${FENCE_SCRIPT}
trap 'rm -rf "$cfg"' EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
rm -rf "$cfg"; mkdir -m 700 "$cfg" || exit 1
docker --config "$cfg" login "$server" --username "$user" --password-stdin >/dev/null || exit $?
cd "$dir" && DOCKER_CONFIG="$cfg" "$@"`,
      fence.lock,
      fence.token,
      loginDir,
      registry.server,
      registry.username,
      cwd,
      ...argv,
    );
  },

  /**
   * Starts the migrator as a named, detached container (its status and logs outlive our connection),
   * unless a migrator of the same project still runs: then exits EXIT.migratorBusy printing its name.
   */
  startMigrator(
    fence: Fence,
    filters: { project: string; service: string },
    runArgv: readonly string[],
    cwd: string,
  ): string[] {
    return sh(
      `lock=$1; token=$2; project=$3; service=$4; dir=$5; shift 5
${FENCE_SCRIPT}
busy=$(docker ps --format '{{.Names}}' --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service" --filter label=com.docker.compose.oneoff=True)
if [ -n "$busy" ]; then echo "$busy"; exit ${EXIT.migratorBusy}; fi
cd "$dir" && "$@" >/dev/null`,
      fence.lock,
      fence.token,
      filters.project,
      filters.service,
      cwd,
      ...runArgv,
    );
  },

  /**
   * Starts a blue-green app container (`runArgv`, a `compose run`), gives it the service's restart
   * policy, and prints the host port its `port` is published on (`port 127.0.0.1:49153`).
   */
  launchApp(
    fence: Fence,
    runArgv: readonly string[],
    spec: { name: string; restart: string; port: number },
    cwd: string,
  ): string[] {
    return sh(
      `set -u
lock=$1; token=$2; name=$3; restart=$4; port=$5; dir=$6; shift 6
${FENCE_SCRIPT}
cd "$dir" && "$@" >/dev/null || exit 1
if [ -n "$restart" ] && [ "$restart" != no ]; then docker update --restart "$restart" "$name" >/dev/null || exit 1; fi
echo "port $(docker port "$name" "$port/tcp" | head -n 1)"`,
      fence.lock,
      fence.token,
      spec.name,
      spec.restart,
      String(spec.port),
      cwd,
      ...runArgv,
    );
  },

  /**
   * Stops containers (SIGTERM, then SIGKILL after `seconds`) and removes them. The stop runs in a
   * session of its own on the host, so it finishes there even when the connection that started it
   * is lost or the deploy stops waiting for it.
   */
  retire(seconds: number, ids: readonly string[]): string[] {
    return sh(
      `seconds=$1; shift
setsid sh -c 'docker stop --time "$0" "$@" >/dev/null 2>&1; docker rm --force "$@" >/dev/null 2>&1' "$seconds" "$@" </dev/null >/dev/null 2>&1 &
wait $!
left=$(docker ps --all --quiet --no-trunc $(printf -- '--filter id=%s ' "$@"))
[ -z "$left" ] && echo retired || { echo "still there: $left"; exit 1; }`,
      String(seconds),
      ...ids,
    );
  },

  /** Renews the lease: a new expiry, the same owner. Prints `renewed`, or `lost` when it is not ours. */
  renewLock(lock: string, token: string, ttlSeconds: number): string[] {
    return sh(
      `lock=$1; token=$2; ttl=$3
if grep -qF -- "$token" "$lock" 2>/dev/null; then
  tmp="$lock.renew.$$"
  { echo "$(( $(date +%s) + ttl ))"; sed 1d "$lock"; } > "$tmp" && mv -f "$tmp" "$lock" && echo renewed
else echo lost; fi`,
      lock,
      token,
      String(ttlSeconds),
    );
  },

  /** Removes the lock only when it still carries our token. Prints `released` or `not-ours`. */
  releaseLock(lock: string, token: string): string[] {
    return sh(
      'if [ -f "$1" ] && grep -qF -- "$2" "$1"; then rm -f "$1"; echo released; else echo not-ours; fi',
      lock,
      token,
    );
  },

  /**
   * The end of a deploy in one round trip, while the lock is still ours: state.json replaced from
   * stdin (fsync + rename, 0600) — the commit point —, then the current link (on success), the
   * audit line (rotated at a size cap; a failure is reported, not fatal: the state is the record),
   * pruning, the login folder, and the lock. Re-running it after a lost reply changes nothing more.
   */
  record(args: {
    stateDir: string;
    token: string;
    auditLine: string;
    auditCapBytes: number;
    /** Release folder the current link points to after a success; empty leaves the link alone. */
    currentTarget: string;
    currentLink: string;
    loginDir: string;
    /** Release folders to keep; every other one in .deployer/releases is removed. */
    keepReleaseIds: string[];
    pruneImages: string[];
  }): string[] {
    return sh(
      `set -u
state_dir=$1; token=$2; line=$3; cap=$4; target=$5; link=$6; login=$7; keep=" $8 "; shift 8
lock="$state_dir/lock"; state="$state_dir/state.json"; audit="$state_dir/audit.log"
${FENCE_SCRIPT}
umask 077
tmp="$state.tmp.$$"
cat > "$tmp" && sync "$tmp" 2>/dev/null; [ -s "$tmp" ] && mv -f "$tmp" "$state" || { rm -f "$tmp"; echo "could not write $state" >&2; exit ${EXIT.stateUnwritable}; }
sync "$state_dir" 2>/dev/null || true
echo recorded
if [ -n "$target" ]; then ln -sfn "$target" "$link.tmp.$$" && { mv -Tf "$link.tmp.$$" "$link" 2>/dev/null || ln -sfn "$target" "$link"; } && rm -f "$link.tmp.$$"; fi
if [ "$(tail -n 1 "$audit" 2>/dev/null)" != "$line" ]; then
  if [ -f "$audit" ] && [ "$(wc -c < "$audit")" -gt "$cap" ]; then mv -f "$audit" "$audit.1" 2>/dev/null || true; fi
  if ! err=$( { printf '%s\\n' "$line" >> "$audit"; } 2>&1 ); then echo "audit-failed $err"; fi
  chmod 600 "$audit" 2>/dev/null || true
fi
rm -rf "$login"
for dir in "$state_dir"/releases/*; do
  [ -d "$dir" ] || continue
  case "$keep" in *" \${dir##*/} "*) ;; *) rm -rf "$dir" ;; esac
done
[ "$#" -eq 0 ] || docker image rm "$@" >/dev/null 2>&1 || true
rm -f "$lock"; echo unlocked`,
      args.stateDir,
      args.token,
      args.auditLine,
      String(args.auditCapBytes),
      args.currentTarget,
      args.currentLink,
      args.loginDir,
      args.keepReleaseIds.join(' '),
      ...args.pruneImages,
    );
  },
};
