import { expect } from 'vitest';
import type { HarnessEvent, WorkflowResult } from '../../scripts/harness/index.mjs';

/** What the harness printed for the failed steps of a run, for an assertion's message. */
export function failedSteps(events: HarnessEvent[]): string {
  return events
    .filter((event) => event.type === 'step' && event.outcome === 'failure')
    .map((event) => `${event.job} / ${event.name}: ${event.errors?.join('; ')}\n${event.log}`)
    .join('\n');
}

/** The workflow run succeeded; otherwise the assertion shows its failed steps. */
export function expectWorkflowSuccess(run: WorkflowResult, events: HarnessEvent[]): void {
  expect(run.result, failedSteps(events)).toBe('success');
}
