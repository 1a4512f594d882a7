import * as core from '@actions/core';
import type { Reporter } from '../engine/reporter.js';
import type { InputSource } from '../engine/inputs.js';

const masked = new Set<string>();

/** The engine's reporter on a runner: job log lines, annotations and masking through @actions/core. */
export const actionsReporter: Reporter = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  error: (message) => core.error(message),
  // Each host of a rollout reads the same secrets: one mask each is enough.
  mask: (secret) => {
    if (masked.has(secret)) return;
    masked.add(secret);
    core.setSecret(secret);
  },
};

/** The step's inputs as the runner passes them (INPUT_<NAME>). */
export const actionInputs: InputSource = {
  read: (name) => core.getInput(name),
  reporter: actionsReporter,
};
