/** The reverse proxy that owns an environment's public address in a blue-green deploy. */
export interface ProxySettings {
  /** Caddy site address this environment is served on: `:80`, `staging.example.com`, `host:8080`. */
  address: string;
  /** Image the proxy container is started from when the host has none (default caddy:2). */
  image: string;
  /** The proxy container's name: one proxy per host serves every environment. */
  container: string;
  /** Folder on the host for the proxy's Caddyfile and site files (`~/` is the SSH user's home). */
  dir: string;
}

/** `target: swarm`: the release is a stack on a Swarm manager; Swarm replaces the tasks start-first. */
export interface SwarmSettings {
  strategy: 'swarm';
  /** Swarm's update monitor window: how long an updated task must keep running (ready-stable-for). */
  monitorMs: number;
}

/**
 * How a new release takes over from the running one: `recreate` replaces the app container in
 * place (a short outage); `blue-green` starts it next to the old one, checks it, switches the
 * proxy, then drains and stops the old one; `swarm` hands the stack to Swarm's rolling update.
 */
export type SwitchSettings =
  | { strategy: 'recreate' }
  | SwarmSettings
  | {
      strategy: 'blue-green';
      proxy: ProxySettings;
      /** The port the app listens on in its container; undefined: the image's one EXPOSEd port. */
      appPort?: number;
      /** How long the old container may finish its requests after the switch before it is killed. */
      drainTimeoutMs: number;
    };
