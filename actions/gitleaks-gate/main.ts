import * as core from '@actions/core';
import { tmpdir } from 'node:os';
import { actionInputs, actionsReporter } from '../edge/actions-reporter.js';
import { LocalExecutor } from '../engine/exec/local.js';
import { githubRun, readEventPayload } from '../engine/github-context.js';
import { gateInputs, runGate } from '../engine/gitleaks/gate.js';
import {
  annotationsFor,
  inlineAllowAnnotations,
  settingsChangeBlocked,
  summaryMarkdown,
} from '../engine/gitleaks/report.js';
import { readInputs } from '../engine/inputs.js';

async function act(): Promise<void> {
  const inputs = readInputs(gateInputs, actionInputs);
  const github = githubRun();
  const result = await runGate(inputs, {
    eventName: github.eventName || 'workflow_dispatch',
    payload: readEventPayload(),
    workspace: github.workspace,
    runnerTemp: github.runnerTemp ?? tmpdir(),
    platform: process.platform,
    arch: process.arch,
    executor: new LocalExecutor(),
    reporter: actionsReporter,
  });

  await core.summary.addRaw(summaryMarkdown(result)).write();
  core.setOutput('commits-scanned', String(result.commitsScanned));
  if (result.logOpts) core.setOutput('log-opts', result.logOpts);
  if (result.error) {
    core.setFailed(
      `gitleaks could not complete the scan, so there is no verdict about secrets: ${result.error}`,
    );
    return;
  }
  core.setOutput('findings', String(result.findings.length));
  core.setOutput('sarif-path', result.sarifPath);
  for (const annotation of annotationsFor(result.findings, result.repositoryPrefix)) {
    const { message, ...properties } = annotation;
    core.error(message, properties);
  }
  for (const { message, ...properties } of inlineAllowAnnotations(
    result.inlineAllows,
    result.repositoryPrefix,
  )) {
    core.warning(message, properties);
  }
  const failures: string[] = [];
  if (result.findings.length > 0) {
    failures.push(
      `gitleaks found ${result.findings.length} secret(s) (${result.scope}). ` +
        'See the annotations and the job summary; values are redacted.',
    );
  } else {
    core.info(`No secrets found (${result.scope}).`);
  }
  const blocked = settingsChangeBlocked(result);
  if (blocked) failures.push(blocked);
  if (failures.length) core.setFailed(failures.join('\n'));
}

/** The action: reads inputs, runs the engine, sets outputs and the summary; a failure fails the step. */
export async function run(): Promise<void> {
  try {
    await act();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
