#!/bin/sh
# A tiny HTTP/1.1 server: busybox nc accepts connections (-ll keeps listening) and runs
# handle.sh for each one, which answers requests on it until the client closes it (keep-alive:
# a proxy reuses its connections, so requests cost no new process).
# `docker stop` (SIGTERM) shuts it down gracefully: it stops accepting connections and exits
# once every request in flight has been answered (idle connections are dropped), so a
# blue-green deploy drains it without cutting a request. A SIGKILL after the stop timeout still
# ends it.
# Test knob: CRASH_AFTER_READY=N (seconds, unset by default) makes the container exit
# with status 1 N seconds after it first answers GET /api/ready with 200, on every start
# (so `restart: unless-stopped` restarts it and its RestartCount grows): handle.sh
# sends this shell SIGUSR1 then.
drain() {
  kill "$server" 2>/dev/null
  while grep -qs . "$INFLIGHT_DIR"/*; do sleep 0.1; done
  exit 0
}
trap drain TERM INT
trap 'echo "hello app: crashing on purpose (CRASH_AFTER_READY=$CRASH_AFTER_READY)" >&2; kill "$server" 2>/dev/null; exit 1' USR1
# Armed again on each start: a restarted container keeps its /tmp. handle.sh keeps a file per
# connection in INFLIGHT_DIR, non-empty while it answers a request.
export SERVE_PID=$$ CRASH_MARK=/tmp/hello-crash-scheduled INFLIGHT_DIR=/tmp/hello-inflight
rm -rf "$CRASH_MARK" "$INFLIGHT_DIR"
mkdir -p "$INFLIGHT_DIR"
EXPECTED_SCHEMA=$(/app/schema-version.sh)
export EXPECTED_SCHEMA
echo "hello app $GIT_SHA listening on port $PORT (expects schema $EXPECTED_SCHEMA)"
nc -ll -p "$PORT" -e /app/handle.sh &
server=$!
wait "$server"
