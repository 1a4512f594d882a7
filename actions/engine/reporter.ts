/**
 * What the engine may say to the person reading the job log. The action's entry passes one in
 * (backed by @actions/core on a runner); the engine itself never talks to the runner.
 */
export interface Reporter {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  /** From now on the value is replaced by *** in everything the run prints. */
  mask(secret: string): void;
}

/** A reporter that collects lines: for tests and for work whose output is shown later. */
export function collectingReporter(): Reporter & { lines: string[]; masked: string[] } {
  const lines: string[] = [];
  const masked: string[] = [];
  return {
    lines,
    masked,
    info: (message) => lines.push(message),
    warning: (message) => lines.push(`warning: ${message}`),
    error: (message) => lines.push(`error: ${message}`),
    mask: (secret) => masked.push(secret),
  };
}
