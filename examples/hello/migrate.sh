#!/bin/sh
# Applies every migration in /app/migrations once, in order, to the data volume.
# Test knobs, from the environment (the host's .env.production or the image):
#   MIGRATE_DELAY=N   wait N seconds (default 0) before migrating: a slow migration. SIGTERM
#                     (`docker stop`) still ends the wait at once, with status 143.
#   MIGRATOR_FAIL=1   fail with status 3 (after the delay) instead of migrating.
set -eu
delay=${MIGRATE_DELAY:-0}
case "$delay" in
  '' | *[!0-9]*)
    echo "migrator: MIGRATE_DELAY must be a whole number of seconds, not '$delay'" >&2
    exit 2 ;;
esac
if [ "$delay" -gt 0 ]; then
  echo "migrator: waiting ${delay} s before migrating"
  # As PID 1 the shell ignores SIGTERM unless trapped, and a foreground sleep would hold the trap
  # back until it ends: sleep in the background and wait, which a trapped signal interrupts.
  trap 'kill "$sleeper" 2>/dev/null; exit 143' TERM INT
  sleep "$delay" &
  sleeper=$!
  wait "$sleeper"
  trap - TERM INT
fi
if [ "${MIGRATOR_FAIL:-0}" = 1 ]; then
  echo "migrator: failing on purpose (MIGRATOR_FAIL=1)" >&2
  exit 3
fi
mkdir -p "$DATA_DIR"
touch "$DATA_DIR/applied"
version=0
for migration in /app/migrations/*; do
  version=$((version + 1))
  name=$(basename "$migration")
  if grep -qx "$name" "$DATA_DIR/applied"; then
    echo "migrator: $name already applied"
  else
    echo "migrator: applying $name"
    echo "$name" >> "$DATA_DIR/applied"
  fi
done
current=$(cat "$DATA_DIR/schema_version" 2>/dev/null || echo 0)
if [ "$version" -gt "$current" ]; then echo "$version" > "$DATA_DIR/schema_version"; fi
echo "migrator: schema at version $(cat "$DATA_DIR/schema_version") ($GIT_SHA)"
