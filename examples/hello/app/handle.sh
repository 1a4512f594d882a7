#!/bin/sh
# Handles one HTTP request on stdin/stdout. GET /api/ready may schedule a crash: see
# CRASH_AFTER_READY in serve.sh.
cr=$(printf '\r')
read -r method target _proto
while IFS= read -r line; do
  line=${line%"$cr"}
  [ -z "$line" ] && break
done
path=${target%%\?*}

respond() {
  printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "${#3}" "$3"
}

applied=$(cat "$DATA_DIR/schema_version" 2>/dev/null || echo 0)
expected=$(/app/schema-version.sh)

case "$method $path" in
  'GET /healthz' | 'HEAD /healthz')
    respond '200 OK' text/plain ok ;;
  'GET /version')
    respond '200 OK' application/json "{\"version\":\"$GIT_SHA\"}" ;;
  'GET /api/ready')
    if [ "$NEVER_READY" != 1 ] && [ "$applied" -ge "$expected" ]; then
      respond '200 OK' application/json "{\"ready\":true,\"version\":\"$GIT_SHA\",\"schema\":$applied}"
      # CRASH_AFTER_READY (serve.sh): on the first 200 of this start, schedule the crash. mkdir
      # is atomic, so concurrent requests schedule it once; the background job lets go of the
      # connection (stdin/stdout/stderr) so that this answer is not held back.
      if [ -n "${CRASH_AFTER_READY:-}" ] && mkdir "$CRASH_MARK" 2>/dev/null; then
        (sleep "$CRASH_AFTER_READY" && kill -USR1 "$SERVE_PID") </dev/null >/dev/null 2>&1 &
      fi
    else
      respond '503 Service Unavailable' application/json \
        "{\"ready\":false,\"version\":\"$GIT_SHA\",\"schema\":$applied,\"expected\":$expected}"
    fi ;;
  *)
    respond '404 Not Found' text/plain 'not found' ;;
esac
