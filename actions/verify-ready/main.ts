import * as core from '@actions/core';
import { actionInputs } from '../edge/actions-reporter.js';
import { cancellationSignal } from '../engine/cancellation.js';
import { SshExecutor, type SshTarget } from '../engine/exec/ssh.js';
import { InputError } from '../engine/inputs.js';
import {
  describeAttempt,
  describeEndpoint,
  describeFailure,
  endpointCheck,
  endpointUrl,
  formatMs,
  parseStatusSpec,
  readEndpoint,
  readinessSummaryMarkdown,
  readReadinessSettings,
  waitUntilReady,
  type ReadinessEndpoint,
  type ReadinessResult,
  type ReadinessSettings,
} from '../engine/readiness/index.js';
import { readSshTarget } from '../engine/ssh-inputs.js';

interface Plan {
  endpoint: ReadinessEndpoint;
  ssh?: SshTarget;
  settings: ReadinessSettings;
}

const ENDPOINT_INPUTS = {
  url: 'url',
  host: 'target-host',
  port: 'target-port',
  path: 'path',
  scheme: 'target-scheme',
};

/** Every input is read and checked before anything is contacted. */
function readPlan(): Plan {
  const wantsSsh = Boolean(actionInputs.read('host'));
  if (!wantsSsh && actionInputs.read('target-port'))
    throw new InputError('target-port', 'only applies with host (a check through SSH); put the port in url');
  const endpoint = readEndpoint(ENDPOINT_INPUTS, actionInputs);
  if (endpoint?.kind === 'url' && wantsSsh)
    throw new InputError('url', 'set either url (a direct check) or host (a check through SSH), not both');
  if (!endpoint && !wantsSsh)
    throw new InputError(
      'url',
      'is required: set url for a direct check, or host, user, ssh-key, host-fingerprint and target-port to check through SSH',
    );
  const ssh = readSshTarget('', actionInputs);
  if (ssh && endpoint?.kind !== 'through-host')
    throw new InputError(
      'target-port',
      "is required with host: the app's port on the SSH host, such as 8080",
    );
  return { endpoint: endpoint!, ssh, settings: readReadinessSettings('', actionInputs) };
}

function setOutputs(result: ReadinessResult): void {
  core.setOutput('ready', String(result.ready));
  core.setOutput('attempts', String(result.attempts));
  core.setOutput('time-to-ready-ms', result.timeToReadyMs === undefined ? '' : String(result.timeToReadyMs));
  core.setOutput('last-status', result.lastStatus === undefined ? '' : String(result.lastStatus));
}

async function act(): Promise<void> {
  const { endpoint, ssh: target, settings } = readPlan();
  const cancelled = cancellationSignal((signal) => core.warning(`${signal}: stopping the readiness check`));

  let ssh: SshExecutor | undefined;
  try {
    if (target) {
      core.info(`Connecting to ${target.username}@${target.host}:${target.port} over SSH`);
      try {
        ssh = await SshExecutor.connect({ ...target, readyTimeoutMs: Math.min(20_000, settings.timeoutMs) });
      } catch (error) {
        setOutputs({ ready: false, attempts: 0, history: [], elapsedMs: 0, timeoutMs: settings.timeoutMs });
        throw error;
      }
    }
    const shown = describeEndpoint(endpoint, ssh?.where);
    core.info(
      `Waiting up to ${formatMs(settings.timeoutMs)} for ${shown} ` +
        `to answer ${parseStatusSpec(settings.expectedStatus).text}` +
        `${settings.consecutiveSuccesses > 1 ? ` ${settings.consecutiveSuccesses} times in a row` : ''}`,
    );
    const result = await waitUntilReady({
      ...settings,
      ...endpointCheck(endpoint, ssh),
      signal: cancelled,
      onAttempt: (attempt) => core.info(describeAttempt(attempt)),
    });
    setOutputs(result);
    await core.summary.addRaw(readinessSummaryMarkdown(result, endpointUrl(endpoint))).write();
    if (result.ready) {
      core.info(
        `${shown} is ready after ${formatMs(result.timeToReadyMs ?? 0)} (${result.attempts} attempts)`,
      );
    } else {
      core.setFailed(describeFailure(result));
    }
  } finally {
    await ssh?.close();
  }
}

/** The action: reads inputs, runs the engine, sets outputs and the summary; a failure fails the step. */
export async function run(): Promise<void> {
  try {
    await act();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
