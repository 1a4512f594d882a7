import type { ReadinessAttempt, ReadinessResult } from './types.js';
import { redactUrl } from './url.js';

const FAILURE_ATTEMPTS_SHOWN = 5;

/** `850 ms`, `4.2 s`, `60 s`, `2 min 5 s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) {
    return `${Number((ms / 1000).toFixed(1))} s`;
  }
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

/** One line per attempt, for the log and the failure message. */
export function describeAttempt(attempt: ReadinessAttempt): string {
  return `#${attempt.number} at ${formatMs(attempt.atMs)} (${formatMs(attempt.durationMs)}): ${attempt.outcome}`;
}

/** The failure message: what happened, and the last attempts. */
export function describeFailure(result: ReadinessResult): string {
  const reason = result.reason ?? `not ready after ${formatMs(result.elapsedMs)}`;
  const shown = result.history.slice(-FAILURE_ATTEMPTS_SHOWN);
  if (shown.length === 0) return `${capitalize(reason)}: no attempt could be made.`;
  const heading =
    shown.length === result.attempts ? 'Attempts' : `The last ${shown.length} of ${result.attempts} attempts`;
  return `${capitalize(reason)}.\n${heading}:\n${shown.map((a) => `  ${describeAttempt(a)}`).join('\n')}`;
}

/** The job summary: verdict, then the attempt timeline as a table. */
export function readinessSummaryMarkdown(result: ReadinessResult, url: string): string {
  const target = `\`${redactUrl(url).replaceAll('`', '')}\``;
  const verdict = result.ready
    ? `✅ ${target} is ready after ${formatMs(result.timeToReadyMs ?? result.elapsedMs)} (${plural(result.attempts, 'attempt')})`
    : `❌ ${target} is not ready: ${result.reason ?? `gave up after ${formatMs(result.elapsedMs)}`}`;
  const lines = [`### Readiness`, '', verdict, ''];
  const omitted = result.attempts - result.history.length;
  if (omitted > 0) lines.push(`The first ${plural(omitted, 'attempt')} are not shown.`, '');
  if (result.history.length > 0) {
    lines.push('| # | at | took | status | outcome |', '| ---: | ---: | ---: | ---: | --- |');
    for (const a of result.history) {
      lines.push(
        `| ${a.number} | ${formatMs(a.atMs)} | ${formatMs(a.durationMs)} | ${a.status ?? '–'} | ${a.ok ? '✅' : '❌'} ${escapeCell(a.outcome)} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
