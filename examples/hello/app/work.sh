#!/bin/sh
# The example's worker: the app image run as a background job runner (no HTTP). It "processes a
# job" every second and records a heartbeat; `work.sh --health` is its Docker health check and
# passes while the heartbeat is fresh and the data volume's schema is the one this image expects.
# Test knob: WORKER_NEVER_HEALTHY=1 (from the host's env file) never records a heartbeat, so the
# health check never passes and the container turns unhealthy.
HEARTBEAT=/tmp/worker-heartbeat
if [ "${1:-}" = --health ]; then
  [ -f "$HEARTBEAT" ] || exit 1
  applied=0
  [ ! -f "$DATA_DIR/schema_version" ] || read -r applied <"$DATA_DIR/schema_version"
  [ "$applied" -ge "$(/app/schema-version.sh)" ] || exit 1
  # Fresh: written within the last 5 s (busybox find: -mmin counts minutes, so compare by hand).
  [ $(($(date +%s) - $(date -r "$HEARTBEAT" +%s))) -le 5 ]
  exit
fi
trap 'echo "hello worker: stopping"; exit 0' TERM INT
echo "hello worker $GIT_SHA started"
rm -f "$HEARTBEAT"
while :; do
  [ "${WORKER_NEVER_HEALTHY:-0}" = 1 ] || touch "$HEARTBEAT"
  sleep 1 &
  wait $!
done
