# Sourced by scripts/sandbox: where the Docker packages come from, and installing them with the fewest side effects.
#
# Bookworm ships Docker 20.10 and Compose v1 only, so on bookworm the Docker Engine, its CLI, buildx and Compose v2
# come from Debian trixie, through the mirror this machine's apt already uses for bookworm. trixie is pinned at 100
# (never chosen unless asked for) and each package is asked for as `name/trixie`: apt then takes a dependency from
# trixie only when bookworm's version cannot satisfy it, so libc6, systemd and /usr/bin/python3 stay bookworm's.
#
# DEPLOYER_APT_ROOT (default /) points the decisions at another tree of apt sources (tests use sample files);
# DEPLOYER_DEBIAN_MIRROR overrides the mirror.

APT_ROOT=${DEPLOYER_APT_ROOT:-/}
APT_ROOT=${APT_ROOT%/}
TRIXIE_SOURCE=$APT_ROOT/etc/apt/sources.list.d/trixie.sources
TRIXIE_PIN=$APT_ROOT/etc/apt/preferences.d/trixie-pin
STANDARD_DEBIAN_MIRROR=http://deb.debian.org/debian
DOCKER_PACKAGES=(docker.io docker-cli docker-buildx docker-compose)
# Packages whose upgrade would change the machine's own tools (the system Python among them).
PROTECTED_PACKAGES='python3 python3-minimal libpython3-stdlib python3.11 python3.11-minimal'
APT_INSTALL=(apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120)

os_release() {
  local file=$APT_ROOT/etc/os-release
  [ -f "$file" ] || file=/etc/os-release
  (
    . "$file"
    printf '%s %s\n' "${ID:-unknown}" "${VERSION_CODENAME:-unknown}"
  )
}

# Sets DOCKER_SUITE (trixie, or empty for the machine's own release), DEBIAN_MIRROR and MIRROR_ORIGIN.
decide_docker_source() {
  local id codename out err
  read -r id codename < <(os_release)
  DOCKER_SUITE=
  DEBIAN_MIRROR=
  MIRROR_ORIGIN=
  [ "$id" = debian ] ||
    die "the sandbox installs Docker only on Debian (this is $id $codename): install Docker Engine with buildx and Compose v2, then run 'scripts/sandbox up' again"
  [ "$codename" = bookworm ] || return 0 # trixie and later ship Docker 26+, buildx and Compose v2 themselves
  DOCKER_SUITE=trixie
  if [ -n "${DEPLOYER_DEBIAN_MIRROR:-}" ]; then
    DEBIAN_MIRROR=${DEPLOYER_DEBIAN_MIRROR%/}
    MIRROR_ORIGIN="DEPLOYER_DEBIAN_MIRROR"
    return 0
  fi
  local root_args=()
  [ -z "$APT_ROOT" ] || root_args=(--root "$APT_ROOT")
  err=$(mktemp)
  if out=$(node "$SCRIPTS_DIR/lib/debian-mirror.mjs" "${root_args[@]}" --codename "$codename" 2>"$err"); then
    read -r DEBIAN_MIRROR MIRROR_ORIGIN <<<"$out"
    MIRROR_ORIGIN="apt's source ${MIRROR_ORIGIN:-entry}"
  else
    grep -v '^W: ' "$err" | sed 's/^/[sandbox] /' >&2
    DEBIAN_MIRROR=$STANDARD_DEBIAN_MIRROR
    MIRROR_ORIGIN="the standard Debian mirror (no $codename main source found)"
  fi
  rm -f "$err"
}

trixie_source_text() {
  cat <<EOF
# Written by deployer's scripts/sandbox: Docker Engine, buildx and Compose v2 for bookworm.
# Pinned at 100 in $TRIXIE_PIN; only packages asked for as name/trixie come from here.
Types: deb
URIs: $DEBIAN_MIRROR
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

trixie_pin_text() { printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n'; }

# "unchanged", "create", or "rewrite (URIs: <old>)": what `up` does to a file that should hold $2.
file_decision() {
  local file=$1 want=$2
  if [ ! -f "$file" ]; then
    echo create
  elif [ "$(cat "$file")" = "$want" ]; then
    echo unchanged
  else
    echo "rewrite (was URIs: $(awk '/^URIs:/ {sub(/^URIs:[ \t]*/, ""); print; exit}' "$file"))"
  fi
}

write_file_if_changed() {
  local file=$1 want=$2 decision
  decision=$(file_decision "$file" "$want")
  [ "$decision" = unchanged ] && return 1
  log "$file: $decision"
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$want" >"$file.tmp"
  mv "$file.tmp" "$file"
}

docker_package_args() {
  local package
  for package in "${DOCKER_PACKAGES[@]}"; do printf '%s\n' "$package${DOCKER_SUITE:+/$DOCKER_SUITE}"; done
}

# apt reads trixie's index from the source only if the mirror serves it; `apt-get update` merely warns otherwise.
# grep reads all of it: `grep -q` would exit at the first match, and under pipefail apt-cache's SIGPIPE then
# made the answer "not readable" now and then.
trixie_readable() { apt-cache "$@" madison docker.io 2>/dev/null | grep ' trixie/main ' >/dev/null; }

ensure_trixie_source() {
  [ "$DOCKER_SUITE" = trixie ] || return 0
  log "Debian trixie at $DEBIAN_MIRROR (mirror from $MIRROR_ORIGIN) for Docker and gitleaks"
  if write_file_if_changed "$TRIXIE_SOURCE" "$(trixie_source_text)"; then apt_updated=0; fi
  write_file_if_changed "$TRIXIE_PIN" "$(trixie_pin_text)" || true
  apt_update_once
  if ! trixie_readable; then
    # A source apt cannot read would leave every later `apt-get update` warning: take it away again.
    rm -f "$TRIXIE_SOURCE"
    die "apt could not read Debian trixie from $DEBIAN_MIRROR (taken from $MIRROR_ORIGIN); see apt-get update's warnings above, or set DEPLOYER_DEBIAN_MIRROR to a Debian mirror URL"
  fi
}

installed_packages() { dpkg-query -W -f '${db:Status-Abbrev}${Package}:${Architecture} ${Version}\n' | awk '/^ii/ {print $2, $3}' | sort; }

# Prints what changed between two `installed_packages` lists: new packages and upgraded ones.
package_changes() {
  join -a 2 "$1" "$2" | awk '
    NF == 2 { added = added " " $1 "=" $2; n++ }
    NF == 3 && $2 != $3 { changed = changed "\n  " $1 " " $2 " -> " $3; u++ }
    END {
      printf "installed %d new packages:%s\n", n, (n ? added : " none")
      printf "upgraded %d packages already on the machine%s\n", u, (u ? ":" changed : " (none)")
    }'
}

# dpkg interrupted mid-install (a cancelled earlier run) blocks every apt-get install until configured.
recover_dpkg() {
  if [ -n "$(dpkg --audit 2>/dev/null)" ]; then
    log "dpkg was interrupted earlier: dpkg --configure -a"
    dpkg --configure -a >&2
  fi
}

# `scripts/sandbox plan`: what `up` would decide about apt on this machine, without changing anything.
print_install_plan() {
  local id codename docker_state=installed
  read -r id codename < <(os_release)
  echo "os: $id $codename"
  command -v dockerd >/dev/null && compose_v2_ready && buildx_ready || docker_state="missing: up installs it"
  echo "docker engine, buildx, compose v2: $docker_state"
  decide_docker_source
  echo "packages: $(docker_package_args | tr '\n' ' ')"
  [ "$DOCKER_SUITE" = trixie ] || return 0
  echo "mirror: $DEBIAN_MIRROR"
  echo "mirror from: $MIRROR_ORIGIN"
  echo "source file: $TRIXIE_SOURCE: $(file_decision "$TRIXIE_SOURCE" "$(trixie_source_text)")"
  echo "pin file: $TRIXIE_PIN: $(file_decision "$TRIXIE_PIN" "$(trixie_pin_text)")"
  echo "--- $TRIXIE_SOURCE"
  trixie_source_text
  echo "---"
}

# `scripts/sandbox plan --simulate`: reads trixie from the chosen mirror into a throwaway apt state and asks apt
# what installing the Docker packages would do here. Fails when the mirror does not serve trixie or when the
# install would upgrade the system Python.
simulate_install() {
  [ "$DOCKER_SUITE" = trixie ] || return 0
  [ -z "$APT_ROOT" ] || die "--simulate reads this machine's apt state; unset DEPLOYER_APT_ROOT"
  local tmp file
  tmp=$(mktemp -d)
  mkdir -p "$tmp/parts" "$tmp/prefs" "$tmp/lists/partial" "$tmp/cache/archives/partial"
  # apt downloads as the unprivileged _apt user where it can.
  chmod 755 "$tmp"
  ! id _apt >/dev/null 2>&1 || chown _apt "$tmp/lists/partial"
  for file in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] && [ "$file" != "$TRIXIE_SOURCE" ] && cp "$file" "$tmp/parts/"
  done
  for file in /etc/apt/preferences.d/*; do
    [ -f "$file" ] && [ "$file" != "$TRIXIE_PIN" ] && cp "$file" "$tmp/prefs/"
  done
  trixie_source_text >"$tmp/parts/trixie.sources"
  trixie_pin_text >"$tmp/prefs/trixie-pin"
  local apt_options=(-o "Dir::Etc::SourceParts=$tmp/parts" -o "Dir::Etc::PreferencesParts=$tmp/prefs"
    -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache")
  apt-get "${apt_options[@]}" update -qq 2>&1 | sed 's/^/apt: /' >&2 || true
  if ! trixie_readable "${apt_options[@]}"; then
    rm -rf "$tmp"
    die "simulation: apt could not read Debian trixie from $DEBIAN_MIRROR (taken from $MIRROR_ORIGIN)"
  fi
  echo "simulation: trixie readable from $DEBIAN_MIRROR"
  local inst
  inst=$(apt-get "${apt_options[@]}" install -s --no-install-recommends $(docker_package_args) | grep '^Inst ' || true)
  rm -rf "$tmp"
  local installs upgrades
  installs=$(awk '$3 !~ /^\[/ {print $2}' <<<"$inst" | paste -sd ' ')
  upgrades=$(awk '$3 ~ /^\[/ {gsub(/[][]/, "", $3); gsub(/\(/, "", $4); print $2 " " $3 " -> " $4}' <<<"$inst")
  echo "simulation: would install: ${installs:-nothing}"
  echo "simulation: would upgrade: $([ -n "$upgrades" ] && paste -sd ';' <<<"$upgrades" || echo nothing)"
  local package
  for package in $PROTECTED_PACKAGES; do
    if grep -q "^$package " <<<"$upgrades"; then
      die "simulation: installing the Docker packages would upgrade $package (the system Python)"
    fi
  done
}
