// What the benchmark scripts share to log, quote and report: one definition of a median, a duration, a
// spread, and of keeping a report's hand-written findings.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export const log = (text) => process.stderr.write(`${text}\n`);
export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
/** The load average (1 / 5 / 15 min), now unless values are given. */
export const loadText = (values = loadavg()) => values.map((value) => value.toFixed(2)).join(' / ');
/** One shell word, single-quoted. */
export const shellQuote = (value) => `'${String(value).replace(/'/g, `'\\''`)}'`;

/** The median of the defined numbers; undefined when there are none. */
export const median = (values) => {
  const sorted = values.filter((v) => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
/** The q-quantile of sorted numbers (nearest rank). */
export const percentile = (sorted, q) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN;
/** A duration: `12.3 s` from 10 s on, `345 ms`, `6.7 ms`; `—` when unknown. */
export const ms = (value) =>
  value === undefined || Number.isNaN(value)
    ? '—'
    : value >= 10_000
      ? `${(value / 1000).toFixed(1)} s`
      : value >= 100
        ? `${Math.round(value)} ms`
        : `${value.toFixed(1)} ms`;
/** `median (min – max)` of the defined values. */
export const spread = (values, format = ms) => {
  const defined = values.filter((v) => v !== undefined && !Number.isNaN(v));
  if (defined.length === 0) return '—';
  const m = format(median(defined));
  if (defined.length === 1) return m;
  return `${m} (${format(Math.min(...defined))} – ${format(Math.max(...defined))})`;
};

/**
 * Writes a report to `file`; a hand-written "## Findings" section at the end of the previous report is
 * kept after it (behind `gap`: the text between the generated report and that heading).
 */
export function writeKeepingFindings(file, report, gap = '') {
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const findings = previous.indexOf('\n## Findings');
  writeFileSync(file, findings < 0 ? report : `${report}${gap}${previous.slice(findings + 1)}`);
}
