#!/bin/sh
# A tiny HTTP server: busybox nc accepts connections (-ll keeps listening) and
# runs handle.sh for each one. The trap lets `docker stop` end it at once.
trap 'kill "$server" 2>/dev/null; exit 0' TERM INT
echo "hello app $GIT_SHA listening on port $PORT (expects schema $(/app/schema-version.sh))"
nc -ll -p "$PORT" -e /app/handle.sh &
server=$!
wait "$server"
