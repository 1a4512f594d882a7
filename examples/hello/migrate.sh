#!/bin/sh
# Applies every migration in /app/migrations once, in order, to the data volume.
set -eu
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
