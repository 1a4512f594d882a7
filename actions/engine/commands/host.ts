// Host-side file and lock operations as argv lists. Each script below is a constant; every
// value reaches it as a positional argument ("$1", "$2"…), never pasted into the script text.

const sh = (script: string, ...args: string[]): string[] => ['sh', '-c', script, 'sh', ...args];

/** Exit code of the lock script when another deploy holds the lock. */
export const LOCK_HELD = 75;

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

  fileExists(path: string): string[] {
    return ['test', '-f', path];
  },

  /** Creates the deploy path and state folder; exits 3 when the host's env file is missing. */
  prepareDeployPath(deployPath: string, stateDir: string, envFile: string): string[] {
    return sh('set -e; mkdir -p -- "$1" "$2"; [ -f "$3" ] || exit 3', deployPath, stateDir, envFile);
  },

  /** Makes the next release current: keeps the old env as previous, renames next over current. */
  commitRelease(files: {
    env: string;
    previousEnv: string;
    compose: string;
    nextCompose: string;
    nextEnv: string;
  }): string[] {
    return sh(
      'set -e; if [ -f "$1" ]; then cp -p "$1" "$2"; fi; mv -f "$4" "$3"; mv -f "$5" "$1"',
      files.env,
      files.previousEnv,
      files.compose,
      files.nextCompose,
      files.nextEnv,
    );
  },

  /** Replaces `statePath` atomically with stdin and appends `line` to `auditPath`. */
  writeStateAndAudit(statePath: string, auditPath: string, line: string): string[] {
    return sh(
      'set -e; umask 022; tmp="$1.tmp.$$"; cat > "$tmp"; mv -f "$tmp" "$1"; umask 077; printf \'%s\\n\' "$3" >> "$2"',
      statePath,
      auditPath,
      line,
    );
  },

  copyIfExists(from: string, to: string): string[] {
    return sh('if [ -f "$1" ]; then cp -p "$1" "$2"; fi', from, to);
  },

  remove(...paths: string[]): string[] {
    return ['rm', '-rf', '--', ...paths];
  },

  /** A private temporary directory on the host; prints its path. */
  makeTempDir(): string[] {
    return ['mktemp', '-d', '-t', 'deployer.XXXXXXXX'];
  },

  /**
   * Takes the lock `<dir>/lock` atomically (a hard link fails when the name exists).
   * The lock file holds the expiry (epoch seconds, host clock) on its first line, then the owner.
   * Prints `acquired`, or `took-over` and the expired lock, or exits LOCK_HELD printing `held` and it.
   */
  acquireLock(dir: string, owner: string, ttlSeconds: number): string[] {
    return sh(
      `set -eu
dir=$1; owner=$2; ttl=$3
lock="$dir/lock"; guard="$dir/lock.takeover"
mkdir -p "$dir"
now=$(date +%s)
tmp="$dir/lock.tmp.$$"
printf '%s\\n%s\\n' "$((now + ttl))" "$owner" > "$tmp"
if ln "$tmp" "$lock" 2>/dev/null; then rm -f "$tmp"; echo acquired; exit 0; fi
expiry=$(head -n 1 "$lock" 2>/dev/null || echo 0)
case "$expiry" in ''|*[!0-9]*) expiry=0 ;; esac
# A takeover guard left by a killed deploy is itself stale after 60 s.
find "$dir" -maxdepth 1 -name lock.takeover -mmin +1 -exec rmdir {} \\; 2>/dev/null || true
if [ "$expiry" -lt "$now" ] && mkdir "$guard" 2>/dev/null; then
  if [ "$(head -n 1 "$lock" 2>/dev/null || echo 0)" = "$expiry" ]; then
    old=$(cat "$lock" 2>/dev/null || true)
    rm -f "$lock"
    if ln "$tmp" "$lock" 2>/dev/null; then
      rm -f "$tmp"; rmdir "$guard"; echo took-over; printf '%s\\n' "$old"; exit 0
    fi
  fi
  rmdir "$guard"
fi
rm -f "$tmp"
echo held
cat "$lock" 2>/dev/null || true
exit ${LOCK_HELD}`,
      dir,
      owner,
      String(ttlSeconds),
    );
  },

  /** Removes the lock only when it still carries our token. Prints `released` or `not-ours`. */
  releaseLock(dir: string, token: string): string[] {
    return sh(
      'if [ -f "$1/lock" ] && grep -qF -- "$2" "$1/lock"; then rm -f "$1/lock"; echo released; else echo not-ours; fi',
      dir,
      token,
    );
  },
};
