#!/bin/sh
# Answers HTTP requests on stdin/stdout, one after another on the same connection, with shell
# builtins only (a fork costs milliseconds on a small host).
#   GET /api/ready   200 once the data volume's schema is at least the image's (EXPECTED_SCHEMA);
#                    may schedule a crash: see CRASH_AFTER_READY in serve.sh
#   GET /api/slow?seconds=N   answers after N seconds (at most 60): a long request, to show that
#                    a blue-green switch does not cut one
#   GET /version, GET|HEAD /healthz
# Anything but GET and HEAD is answered 404 and the connection closed (a body is never read).
cr=$(printf '\r')
# Non-empty while a request is being answered (serve.sh waits for those when draining).
inflight="$INFLIGHT_DIR/$$"
trap 'rm -f "$inflight"' EXIT

respond() { # status, content type, body[, close]
  connection=keep-alive
  [ -z "${4:-}" ] || connection=close
  printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: %s\r\n\r\n' \
    "$1" "$2" "${#3}" "$connection"
  [ "$method" = HEAD ] || printf '%s' "$3"
}

# An idle connection is closed after 60 s.
while read -r -t 60 method target _proto; do
  echo busy >"$inflight"
  close=""
  while IFS= read -r line; do
    line=${line%"$cr"}
    [ -z "$line" ] && break
    case "$line" in [Cc]onnection:*[Cc]lose*) close=1 ;; esac
  done
  path=${target%%\?*}
  case "$method $path" in
    'GET /healthz' | 'HEAD /healthz')
      respond '200 OK' text/plain ok "$close" ;;
    'GET /version')
      respond '200 OK' application/json "{\"version\":\"$GIT_SHA\"}" "$close" ;;
    'GET /api/ready')
      applied=0
      [ ! -f "$DATA_DIR/schema_version" ] || read -r applied <"$DATA_DIR/schema_version"
      if [ "$NEVER_READY" != 1 ] && [ "$applied" -ge "$EXPECTED_SCHEMA" ]; then
        respond '200 OK' application/json \
          "{\"ready\":true,\"version\":\"$GIT_SHA\",\"schema\":$applied}" "$close"
        # CRASH_AFTER_READY (serve.sh): on the first 200 of this start, schedule the crash. mkdir
        # is atomic, so concurrent requests schedule it once; the background job lets go of the
        # connection (stdin/stdout/stderr) so that this answer is not held back.
        if [ -n "${CRASH_AFTER_READY:-}" ] && mkdir "$CRASH_MARK" 2>/dev/null; then
          (sleep "$CRASH_AFTER_READY" && kill -USR1 "$SERVE_PID") </dev/null >/dev/null 2>&1 &
        fi
      else
        respond '503 Service Unavailable' application/json \
          "{\"ready\":false,\"version\":\"$GIT_SHA\",\"schema\":$applied,\"expected\":$EXPECTED_SCHEMA}" "$close"
      fi ;;
    'GET /api/slow')
      seconds=5
      case "$target" in *seconds=*) seconds=${target#*seconds=} seconds=${seconds%%&*} ;; esac
      case "$seconds" in '' | *[!0-9]* | ???*) seconds=5 ;; esac
      [ "$seconds" -le 60 ] || seconds=60
      sleep "$seconds"
      respond '200 OK' application/json "{\"slept\":$seconds,\"version\":\"$GIT_SHA\"}" "$close" ;;
    'GET '* | 'HEAD '*)
      respond '404 Not Found' text/plain 'not found' "$close" ;;
    *)
      respond '404 Not Found' text/plain 'not found' close
      close=1 ;;
  esac
  : >"$inflight"
  [ -z "$close" ] || exit 0
done
