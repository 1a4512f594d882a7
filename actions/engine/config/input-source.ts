import { InputError, readingWith, type InputSource } from '../inputs.js';
import { ConfigError } from './config-error.js';
import type { ConfigTarget } from './model.js';

/** Inputs of one target: an action input when given (non-empty), else the file's setting, else ''. */
export function configInputSource(target: ConfigTarget, given: InputSource): InputSource {
  return readingWith(given, (name) => {
    const value = given.read(name);
    return value.trim() ? value : (target.settings[name] ?? '');
  });
}

/**
 * An InputError about a value that came from the file, as a ConfigError naming file:line and key;
 * any other error (the value was an action input, or the file did not set it) unchanged.
 */
export function explainInputError(error: InputError, target: ConfigTarget, given: InputSource): Error {
  if (given.read(error.input).trim()) return error;
  const origin = target.origin(error.input);
  if (!origin) return error;
  const subject = origin.env ? `${origin.key} (from env ${origin.env})` : origin.key;
  return new ConfigError(origin, error.expected, subject, { cause: error });
}
