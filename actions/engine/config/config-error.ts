/** Where something was written in a deploy config file. */
export interface ConfigOrigin {
  file: string;
  /** 1-based. */
  line: number;
  /** Dotted path such as `environments.staging.hosts[1].ready-path`. */
  key: string;
}

/** A path into the config file's data: map keys and list indexes. */
export type ConfigPath = ReadonlyArray<string | number>;

/** `environments.staging.hosts[1].ready-path` for ['environments', 'staging', 'hosts', 1, 'ready-path']. */
export function dottedPath(path: ConfigPath): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part),
    '',
  );
}

/**
 * A mistake in the deploy config file, found before anything connects. The message reads
 * `file:line: subject: problem`; the subject is the key unless the problem is about a key of it
 * (an unknown or missing key is reported on the map that should or should not hold it).
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly key: string;

  constructor(origin: ConfigOrigin, problem: string, subject = origin.key, options?: ErrorOptions) {
    super(`${origin.file}:${origin.line}: ${subject ? `${subject}: ` : ''}${problem}`, options);
    this.name = 'ConfigError';
    this.file = origin.file;
    this.line = origin.line;
    this.key = origin.key;
  }
}
