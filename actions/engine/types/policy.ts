import type { ReadinessEndpoint } from '../readiness/endpoint.js';
import type { ReadinessSettings } from '../readiness/settings.js';

/** How long each part of a deploy may take, and what is kept. */
export interface DeployPolicy {
  /** After the first ready answer the app must keep running, unrestarted, this long before commit. */
  readyStableForMs: number;
  deployTimeoutMs: number;
  lockTtlMs: number;
  lockWaitMs: number;
  keepReleases: number;
}

/**
 * When a release counts as ready, and where that is asked: an HTTP endpoint, or (no endpoint, e.g. a
 * worker) the container itself: healthy by its Docker health check, or running when it has none.
 */
export interface ReadinessPolicy {
  settings: ReadinessSettings;
  endpoint?: ReadinessEndpoint;
}
