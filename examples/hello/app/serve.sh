#!/bin/sh
# A tiny HTTP server: busybox nc accepts connections (-ll keeps listening) and
# runs handle.sh for each one. The trap lets `docker stop` end it at once.
# Test knob: CRASH_AFTER_READY=N (seconds, unset by default) makes the container exit
# with status 1 N seconds after it first answers GET /api/ready with 200, on every start
# (so `restart: unless-stopped` restarts it and its RestartCount grows): handle.sh
# sends this shell SIGUSR1 then.
trap 'kill "$server" 2>/dev/null; exit 0' TERM INT
trap 'echo "hello app: crashing on purpose (CRASH_AFTER_READY=$CRASH_AFTER_READY)" >&2; kill "$server" 2>/dev/null; exit 1' USR1
# Armed again on each start: a restarted container keeps its /tmp.
export SERVE_PID=$$ CRASH_MARK=/tmp/hello-crash-scheduled
rm -rf "$CRASH_MARK"
echo "hello app $GIT_SHA listening on port $PORT (expects schema $(/app/schema-version.sh))"
nc -ll -p "$PORT" -e /app/handle.sh &
server=$!
wait "$server"
