// The blue-green proxy: one Caddy container per host, in the host's network, that owns every
// environment's public address. Its configuration lives on the host: a Caddyfile that imports one
// site file per environment, so a restarted proxy serves what it served before.
//
// Each environment has two slots, blue and green: two loopback ports chosen once, when its site is
// created. A release's app container publishes its port on the free slot. Which slot is live is a
// marker file that Caddy's `file` matcher looks at on every request: switching is creating or
// removing that file, with no reload. (A reload restarts Caddy's servers, which closes its clients'
// idle keep-alive connections: a client that sends a request just then gets a socket error.) Only
// creating a site or changing its address reloads, through the admin API on a unix socket in the
// folder (reachable only by root on the host, never over a network), with `caddy reload` run in
// the proxy container. Pure: argv lists and texts.

import { FENCE_SCRIPT, sh, type Fence } from './host.js';

/** Label on the proxy container naming its configuration folder on the host. */
export const PROXY_DIR_LABEL = 'deployer.proxy.dir';

/** An absolute folder or one in the SSH user's home (`~/…`), without spaces or quotes. */
export const PROXY_DIR =
  /^(?!.*(?:^|\/)\.\.?(?:\/|$))(?:~|~\/[A-Za-z0-9._/-]*|\/[A-Za-z0-9._/-]*[A-Za-z0-9_-][A-Za-z0-9._/-]*)$/;

export type Slot = 'blue' | 'green';
export type SlotPorts = Record<Slot, number>;

export function otherSlot(slot: Slot): Slot {
  return slot === 'blue' ? 'green' : 'blue';
}

export interface ProxyContainer {
  container: string;
  image: string;
  /** `~/` at the start is the SSH user's home on the host. */
  dir: string;
}

/** One environment's site on the proxy: which container, its folder, and the site's name. */
export interface SiteRef {
  container: string;
  dir: string;
  name: string;
}

/**
 * The proxy's main Caddyfile: admin on a unix socket, plain HTTP, every site file of `dir/sites`.
 * (`dir` has no characters that mean anything to Caddy or sed: PROXY_DIR checks it.)
 */
export function proxyCaddyfile(dir: string): string {
  return `# Written by deployer. Each environment's site is a file in ${dir}/sites.
{
	admin unix/${dir}/admin.sock
	auto_https off
}
import ${dir}/sites/*.caddy
`;
}

export interface ProxySite {
  /** Caddy site address, e.g. `:80` or `staging.example.com:8080`. */
  address: string;
  /** The folder the proxy runs with (absolute) and the site's name: where its live marker is. */
  dir: string;
  name: string;
  slots: SlotPorts;
  /** Says which environment the site serves (a comment in the file). */
  note: string;
}

const SLOTS_LINE = /^# deployer-slots blue=(\d+) green=(\d+)$/m;

/**
 * One environment's site: the green slot while `live/<name>.green` exists, else the blue one. A
 * GET that meets a closed upstream (a container that died) is retried for up to 5 s.
 */
export function proxySiteFile(site: ProxySite): string {
  const upstream = (port: number) => `reverse_proxy 127.0.0.1:${port} {
			lb_try_duration 5s
			lb_try_interval 100ms
		}`;
  return `# ${site.note.replace(/[\r\n]+/g, ' ')}
# deployer-slots blue=${site.slots.blue} green=${site.slots.green}
http://${site.address} {
	@green file {
		root ${site.dir}/live
		try_files ${site.name}.green
	}
	handle @green {
		${upstream(site.slots.green)}
	}
	handle {
		${upstream(site.slots.blue)}
	}
}
`;
}

/** The slot ports a site file was written with, or undefined. */
export function parseSiteSlots(text: string): SlotPorts | undefined {
  const found = SLOTS_LINE.exec(text);
  return found ? { blue: Number(found[1]), green: Number(found[2]) } : undefined;
}

// `dir` with a leading ~/ made absolute (the SSH user's home).
const RESOLVE_DIR = `case $dir in '~/'*) dir="$HOME/\${dir#'~/'}" ;; '~') dir=$HOME ;; esac`;

// Serialises reconfigurations of the proxy across environments on the host: a reload reads every
// site file, so two at once could each put back the other's old site.
const PROXY_LOCK = `mkdir -p "$dir/sites" "$dir/live" || exit 1
exec 9>>"$dir/reload.lock"
flock -w 60 9 || { echo "another deploy has been reconfiguring the proxy for 60 s" >&2; exit 1; }`;

const RELOAD = `reload() {
  i=0
  while [ ! -S "$dir/admin.sock" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  docker exec "$container" caddy reload --config "$dir/Caddyfile" --adapter caddyfile --address "unix/$dir/admin.sock"
}`;

// Makes `$slot` live for site `$name`: one atomic file operation, seen by the next request.
const SET_LIVE = `set_live() {
  if [ "$1" = green ]; then : > "$dir/live/$name.green.tmp.$$" && mv -f "$dir/live/$name.green.tmp.$$" "$dir/live/$name.green"
  else rm -f "$dir/live/$name.green"; fi
}`;

// Two loopback ports nothing listens on and no other site has taken, from 20000-29999 (below
// Linux's ephemeral range), starting at a place that depends on the site's name.
const FREE_PORTS = `free_ports() {
  taken=$( { awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
    sed -n 's/^# deployer-slots blue=\\([0-9]*\\) green=\\([0-9]*\\)$/\\1 \\2/p' "$dir"/sites/*.caddy 2>/dev/null | tr ' ' '\\n' | while read -r p; do printf '%04X\\n' "$p"; done
  } | tr 'a-f' 'A-F')
  p=$(( $(printf '%s' "$name" | cksum | cut -d ' ' -f 1) % 10000 + 20000 ))
  found=""; n=0; tries=0
  while [ "$n" -lt 2 ] && [ "$tries" -lt 10000 ]; do
    if ! printf '%s\\n' "$taken" | grep -qx "$(printf '%04X' "$p")"; then found="$found $p"; n=$((n + 1)); fi
    p=$(( p + 1 )); [ "$p" -lt 30000 ] || p=20000; tries=$((tries + 1))
  done
  echo "free$found"
}`;

function siteCommand(fence: Fence, site: SiteRef, body: string, ...args: string[]): string[] {
  return sh(
    `set -u
lock=$1; token=$2; container=$3; dir=$4; name=$5; shift 5
${FENCE_SCRIPT}
${PROXY_LOCK}
${RELOAD}
${SET_LIVE}
${body}`,
    fence.lock,
    fence.token,
    site.container,
    site.dir,
    site.name,
    ...args,
  );
}

export const proxy = {
  /**
   * Makes sure the proxy runs, never restarting a running one. Prints `site <base64>` (the site
   * file of `site` now, empty: none), `live <slot>`, `free <port> <port>` when the site has no
   * file with slots yet, then `proxy <running|started|created> <dir> <image>`: the folder and image of the
   * proxy that runs (a running proxy keeps its own, whatever the inputs say now).
   */
  ensure(spec: ProxyContainer, site: string): string[] {
    return sh(
      `set -u
container=$1; image=$2; dir=$3; caddyfile=$4; name=$5
${RESOLVE_DIR}
${FREE_PORTS}
# Status, label and image, read without word splitting (an empty label stays an empty field).
describe() {
  info=$(docker inspect --format '{{.State.Status}}|{{index .Config.Labels "${PROXY_DIR_LABEL}"}}|{{.Config.Image}}' "$container" 2>/dev/null) || return 1
  IFS='|' read -r status labelled running_image <<INFO
$info
INFO
}
show_site() {
  file="$1/sites/$name.caddy"
  echo "site $(base64 < "$file" 2>/dev/null | tr -d '\\n')"
  if [ -e "$1/live/$name.green" ]; then echo "live green"; else echo "live blue"; fi
  grep -qs "^# deployer-slots " "$file" || { dir=$1; free_ports; }
}
if describe; then
  [ -n "$labelled" ] || { echo "a container named $container exists, but deployer did not start it (it has no ${PROXY_DIR_LABEL} label): give proxy-container another name" >&2; exit 1; }
  show_site "$labelled"
  if [ "$status" = running ]; then echo "proxy running $labelled $running_image"; exit 0; fi
  docker start "$container" >/dev/null || exit 1
  echo "proxy started $labelled $running_image"; exit 0
fi
umask 022
mkdir -p "$dir/sites" "$dir/live" || exit 1
printf '%s' "$caddyfile" | sed "s|@DIR@|$dir|g" > "$dir/Caddyfile.tmp.$$" && mv -f "$dir/Caddyfile.tmp.$$" "$dir/Caddyfile" || exit 1
show_site "$dir"
if ! docker run --detach --name "$container" --network host --restart unless-stopped \\
  --label "${PROXY_DIR_LABEL}=$dir" --volume "$dir:$dir" \\
  "$image" caddy run --config "$dir/Caddyfile" --adapter caddyfile >/dev/null; then
  # Another environment's deploy may have created it a moment ago.
  if describe && [ -n "$labelled" ]; then echo "proxy running $labelled $running_image"; exit 0; fi
  exit 1
fi
echo "proxy created $dir $image"`,
      spec.container,
      spec.image,
      spec.dir,
      proxyCaddyfile('@DIR@'),
      site,
    );
  },

  /** Makes `slot` the live one: no reload, the next request goes there. Prints `live <slot>`. */
  setLive(fence: Fence, site: SiteRef, slot: Slot): string[] {
    return siteCommand(fence, site, 'set_live "$1" && echo "live $1"', slot);
  },

  /**
   * Writes the site file (its text on stdin), makes `slot` live, and reloads the proxy. Prints
   * `switched`. When the proxy refuses the new configuration, the old file and slot are put back
   * and the proxy keeps serving what it served.
   */
  writeSite(fence: Fence, site: SiteRef, slot: Slot): string[] {
    return siteCommand(
      fence,
      site,
      `file="$dir/sites/$name.caddy"
was=blue; [ ! -e "$dir/live/$name.green" ] || was=green
[ ! -f "$file" ] || cp -p "$file" "$file.prev" || exit 1
umask 022
cat > "$file.next.$$" && mv -f "$file.next.$$" "$file" || { rm -f "$file.next.$$"; exit 1; }
set_live "$1" || exit 1
if reload; then rm -f "$file.prev"; echo switched; exit 0; fi
if [ -f "$file.prev" ]; then mv -f "$file.prev" "$file"; else rm -f "$file"; fi
set_live "$was"
exit 1`,
      slot,
    );
  },

  /** Removes the site and its marker, and reloads (a first release that could not be switched to). */
  removeSite(fence: Fence, site: SiteRef): string[] {
    return siteCommand(
      fence,
      site,
      'rm -f "$dir/sites/$name.caddy" "$dir/live/$name.green"\nreload && echo removed',
    );
  },
};
