import * as core from '@actions/core';
import { cancellationSignal } from '../engine/cancellation.js';
import { SshExecutor, type SshTarget } from '../engine/exec/ssh.js';
import { input, InputError, readInputs } from '../engine/inputs.js';
import {
  describeAttempt,
  describeFailure,
  formatMs,
  parseStatusSpec,
  readinessSummaryMarkdown,
  readinessUrl,
  readReadinessSettings,
  redactUrl,
  waitUntilReady,
  type ReadinessResult,
  type ReadinessSettings,
} from '../engine/readiness/index.js';
import { readSshTarget } from '../engine/ssh-inputs.js';

interface Plan {
  url: string;
  ssh?: SshTarget;
  settings: ReadinessSettings;
}

const TARGET_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:]+\]?)$/;

/** Every input is read and checked before anything is contacted. */
function readPlan(): Plan {
  const direct = readInputs({
    url: input.optional(),
    'target-host': input.matching(
      TARGET_HOST,
      'a hostname or IP address as seen from the SSH host',
      '127.0.0.1',
    ),
    'target-port': input.integer(0, 1, 65535),
    'target-scheme': input.oneOf(['http', 'https'], 'http'),
    path: input.matching(/^\/\S*$/, 'a path starting with /, such as /api/ready', '/api/ready'),
  });
  const wantsSsh = Boolean(core.getInput('host'));
  if (direct.url && wantsSsh)
    throw new InputError('url', 'set either url (a direct check) or host (a check through SSH), not both');
  if (!direct.url && !wantsSsh)
    throw new InputError(
      'url',
      'is required: set url for a direct check, or host, user, ssh-key, host-fingerprint and target-port to check through SSH',
    );
  const ssh = readSshTarget('');
  let url: string;
  if (ssh) {
    if (!direct['target-port'])
      throw new InputError(
        'target-port',
        "is required with host: the app's port on the SSH host, such as 8080",
      );
    const host = direct['target-host'].replace(/^\[|\]$/g, '');
    url = `${direct['target-scheme']}://${host.includes(':') ? `[${host}]` : host}:${direct['target-port']}${direct.path}`;
  } else {
    if (direct['target-port'])
      throw new InputError(
        'target-port',
        'only applies with host (a check through SSH); put the port in url',
      );
    url = readinessUrl(direct.url!, 'url');
  }
  return { url, ssh, settings: readReadinessSettings('') };
}

function setOutputs(result: ReadinessResult): void {
  core.setOutput('ready', String(result.ready));
  core.setOutput('attempts', String(result.attempts));
  core.setOutput('time-to-ready-ms', result.timeToReadyMs === undefined ? '' : String(result.timeToReadyMs));
  core.setOutput('last-status', result.lastStatus === undefined ? '' : String(result.lastStatus));
}

async function act(): Promise<void> {
  const { url, ssh: target, settings } = readPlan();
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
    const tunnel = ssh;
    const shown = redactUrl(url);
    core.info(
      `Waiting up to ${formatMs(settings.timeoutMs)} for ${shown}${tunnel ? ` (as seen from ${tunnel.where})` : ''} ` +
        `to answer ${parseStatusSpec(settings.expectedStatus).text}` +
        `${settings.consecutiveSuccesses > 1 ? ` ${settings.consecutiveSuccesses} times in a row` : ''}`,
    );
    const result = await waitUntilReady({
      ...settings,
      url,
      connect: tunnel && ((host, port) => tunnel.openTunnel(host, port)),
      signal: cancelled,
      onAttempt: (attempt) => core.info(describeAttempt(attempt)),
    });
    setOutputs(result);
    await core.summary.addRaw(readinessSummaryMarkdown(result, url)).write();
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
