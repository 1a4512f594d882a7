#!/bin/sh
# Handles one HTTP request on stdin/stdout.
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
    else
      respond '503 Service Unavailable' application/json \
        "{\"ready\":false,\"version\":\"$GIT_SHA\",\"schema\":$applied,\"expected\":$expected}"
    fi ;;
  *)
    respond '404 Not Found' text/plain 'not found' ;;
esac
