import * as core from '@actions/core';
import type { Reporter } from '../engine/reporter.js';
import type { InputSource } from '../engine/inputs.js';

/** The engine's reporter on a runner: job log lines, annotations and masking through @actions/core. */
export const actionsReporter: Reporter = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  error: (message) => core.error(message),
  mask: (secret) => core.setSecret(secret),
};

/** The step's inputs as the runner passes them (INPUT_<NAME>). */
export const actionInputs: InputSource = {
  read: (name) => core.getInput(name),
  reporter: actionsReporter,
};
