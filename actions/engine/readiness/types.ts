import type { Duplex } from 'node:stream';

export interface ReadinessCheck {
  /** For SSH mode: the URL as seen from the SSH host, e.g. http://127.0.0.1:8080/api/ready */
  url: string;
  /** Raw spec: '200', '200,204', '200-299', '2xx' (see parseStatusSpec). */
  expectedStatus: string;
  /** A substring, or /regex/flags. */
  expectBody?: string;
  /** Subset match against the JSON body, e.g. {"version": "<sha>"} to prove the new build answers. */
  expectJson?: Record<string, unknown>;
  timeoutMs: number;
  intervalMs: number;
  /** Multiplies the wait after each further failure in a row (1 or undefined: a fixed interval). */
  backoff?: number;
  /** Upper bound of the wait when backing off. */
  maxIntervalMs?: number;
  requestTimeoutMs: number;
  consecutiveSuccesses: number;
  headers: Record<string, string>;
  followRedirects: boolean;
  insecureTls: boolean;
  /** When set, each request's TCP connection is opened with it (e.g. sshExecutor.openTunnel). */
  connect?: (host: string, port: number) => Promise<Duplex>;
  signal?: AbortSignal;
  onAttempt?: (attempt: ReadinessAttempt) => void;
}

export interface ReadinessAttempt {
  number: number;
  /** When it started, from the start of the check. */
  atMs: number;
  durationMs: number;
  ok: boolean;
  status?: number;
  /** 'ready' | 'ok (2 of 3 in a row)' | 'connection refused' | 'timed out after 5000 ms' | 'status 503, expected 200' | 'body does not contain …' … */
  outcome: string;
}

export interface ReadinessResult {
  ready: boolean;
  attempts: number;
  /** The last HISTORY_LIMIT attempts. */
  history: ReadinessAttempt[];
  timeToReadyMs?: number;
  lastStatus?: number;
  elapsedMs: number;
  /** Human summary when not ready. */
  reason?: string;
  /** The overall deadline the check ran against. */
  timeoutMs?: number;
  /** True when `signal` ended the check. */
  cancelled?: boolean;
}
