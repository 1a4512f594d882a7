// The blue-green proxy: one Caddy container per host, in the host's network, that owns every
// environment's public address. Its configuration lives on the host: a Caddyfile that imports one
// site file per environment, so a restarted proxy serves what it served before. It is reconfigured
// through its admin API on a unix socket in that folder (reachable only by root on the host, never
// over a network), with `caddy reload` run inside the proxy container. Pure: argv lists and texts.

import { FENCE_SCRIPT, type Fence } from './host.js';

const sh = (script: string, ...args: string[]): string[] => ['sh', '-c', script, 'sh', ...args];

/** Label on the proxy container naming its configuration folder on the host. */
export const PROXY_DIR_LABEL = 'deployer.proxy.dir';

/** An absolute folder or one in the SSH user's home (`~/…`), without spaces or quotes. */
export const PROXY_DIR = /^(?:~|~\/[A-Za-z0-9._/-]*|\/[A-Za-z0-9._/-]+)$/;

export interface ProxyContainer {
  container: string;
  image: string;
  /** `~/` at the start is the SSH user's home on the host. */
  dir: string;
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
  /** `127.0.0.1:<port>`: the app container's port published on the host's loopback. */
  upstream: string;
  /** Says which environment, release and container the site serves (a comment in the file). */
  note: string;
}

/**
 * One environment's site. A GET that meets a closed upstream (a container that died) is retried
 * on the upstream for up to 5 s instead of failing at once.
 */
export function proxySiteFile(site: ProxySite): string {
  return `# ${site.note.replace(/[\r\n]+/g, ' ')}
http://${site.address} {
	reverse_proxy ${site.upstream} {
		lb_try_duration 5s
		lb_try_interval 100ms
	}
}
`;
}

/** The upstream a site file sends its traffic to, or undefined. */
export function parseSiteUpstream(text: string): string | undefined {
  return /^\s*reverse_proxy\s+(\S+)/m.exec(text)?.[1];
}

// `dir` with a leading ~/ made absolute (the SSH user's home).
const RESOLVE_DIR = `case $dir in '~/'*) dir="$HOME/\${dir#'~/'}" ;; '~') dir=$HOME ;; esac`;

// Serialises reconfigurations of the proxy across environments on the host: a reload reads every
// site file, so two at once could each put back the other's old site.
const PROXY_LOCK = `mkdir -p "$dir/sites" || exit 1
exec 9>>"$dir/reload.lock"
flock -w 60 9 || { echo "another deploy has been reconfiguring the proxy for 60 s" >&2; exit 1; }`;

const RELOAD = `reload() {
  i=0
  while [ ! -S "$dir/admin.sock" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  docker exec "$container" caddy reload --config "$dir/Caddyfile" --adapter caddyfile --address "unix/$dir/admin.sock"
}`;

/** One environment's site on the proxy: which container, its folder, and the site's name. */
export interface SiteRef {
  container: string;
  dir: string;
  name: string;
}

/** `body` runs under the deploy lock and the proxy's own lock, with `reload` defined. */
function siteCommand(fence: Fence, site: SiteRef, body: string): string[] {
  return sh(
    `set -u
lock=$1; token=$2; container=$3; dir=$4; name=$5
${FENCE_SCRIPT}
${PROXY_LOCK}
${RELOAD}
${body}`,
    fence.lock,
    fence.token,
    site.container,
    site.dir,
    site.name,
  );
}

export const proxy = {
  /**
   * Makes sure the proxy runs, never restarting a running one. Prints `site <base64>`, the site
   * file `site` has now (empty: none), then `proxy <running|started|created> <dir> <image>`: the
   * folder and image of the proxy that runs (a running proxy keeps its own, whatever the inputs
   * say now).
   */
  ensure(spec: ProxyContainer, site: string): string[] {
    return sh(
      `set -u
container=$1; image=$2; dir=$3; caddyfile=$4; site=$5
${RESOLVE_DIR}
describe() { docker inspect --format '{{.State.Status}} {{index .Config.Labels "${PROXY_DIR_LABEL}"}} {{.Config.Image}}' "$container" 2>/dev/null; }
show_site() { echo "site $(base64 < "$1/sites/$site.caddy" 2>/dev/null | tr -d '\\n')"; }
if info=$(describe); then
  set -- $info
  [ -n "\${2:-}" ] || { echo "a container named $container exists, but deployer did not start it (it has no ${PROXY_DIR_LABEL} label): give proxy-container another name" >&2; exit 1; }
  show_site "$2"
  if [ "$1" = running ]; then echo "proxy running $2 $3"; exit 0; fi
  docker start "$container" >/dev/null || exit 1
  echo "proxy started $2 $3"; exit 0
fi
umask 022
mkdir -p "$dir/sites" || exit 1
printf '%s' "$caddyfile" | sed "s|@DIR@|$dir|g" > "$dir/Caddyfile.tmp.$$" && mv -f "$dir/Caddyfile.tmp.$$" "$dir/Caddyfile" || exit 1
show_site "$dir"
if ! docker run --detach --name "$container" --network host --restart unless-stopped \\
  --label "${PROXY_DIR_LABEL}=$dir" --volume "$dir:$dir" \\
  "$image" caddy run --config "$dir/Caddyfile" --adapter caddyfile >/dev/null; then
  # Another environment's deploy may have created it a moment ago.
  if info=$(describe); then set -- $info; echo "proxy running $2 $3"; exit 0; fi
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

  /**
   * Points the site `name` at a new upstream (the site file's text on stdin) and reloads the proxy.
   * Prints `switched`. When the proxy refuses the new configuration the old file is put back and
   * the proxy keeps serving what it served.
   */
  switchSite(fence: Fence, site: SiteRef): string[] {
    return siteCommand(
      fence,
      site,
      `site="$dir/sites/$name.caddy"
[ ! -f "$site" ] || cp -p "$site" "$site.prev" || exit 1
umask 022
cat > "$site.next.$$" && mv -f "$site.next.$$" "$site" || { rm -f "$site.next.$$"; exit 1; }
if reload; then rm -f "$site.prev"; echo switched; exit 0; fi
if [ -f "$site.prev" ]; then mv -f "$site.prev" "$site"; else rm -f "$site"; fi
exit 1`,
    );
  },

  /** Removes the site `name` and reloads (a first release that could not be switched to). */
  removeSite(fence: Fence, site: SiteRef): string[] {
    return siteCommand(fence, site, 'rm -f "$dir/sites/$name.caddy"\nreload && echo removed');
  },
};
