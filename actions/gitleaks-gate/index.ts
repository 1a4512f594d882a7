import * as core from '@actions/core';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { LocalExecutor } from '../engine/exec/local.js';
import { gateInputs, runGate } from '../engine/gitleaks/gate.js';
import { annotationsFor, summaryMarkdown } from '../engine/gitleaks/report.js';
import { readInputs } from '../engine/inputs.js';

function readEvent(): unknown {
  const path = process.env.GITHUB_EVENT_PATH;
  if (!path) return {};
  return JSON.parse(readFileSync(path, 'utf8'));
}

async function main(): Promise<void> {
  const inputs = readInputs(gateInputs);
  const result = await runGate(inputs, {
    eventName: process.env.GITHUB_EVENT_NAME ?? 'workflow_dispatch',
    payload: readEvent(),
    workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    runnerTemp: process.env.RUNNER_TEMP ?? tmpdir(),
    platform: process.platform,
    arch: process.arch,
    executor: new LocalExecutor(),
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
  if (result.findings.length > 0) {
    core.setFailed(
      `gitleaks found ${result.findings.length} secret(s) (${result.scope}). ` +
        'See the annotations and the job summary; values are redacted.',
    );
  } else {
    core.info(`No secrets found (${result.scope}).`);
  }
}

main().catch((error: unknown) => {
  core.setFailed(error instanceof Error ? error.message : String(error));
});
