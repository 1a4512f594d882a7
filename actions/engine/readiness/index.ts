export {
  waitUntilReady,
  HISTORY_LIMIT,
  type ReadinessAttempt,
  type ReadinessCheck,
  type ReadinessResult,
} from './check.js';
export {
  readinessInputShape,
  readReadinessSettings,
  DEFAULT_MAX_INTERVAL_MS,
  type ReadinessSettings,
} from './settings.js';
export { readinessSummaryMarkdown, describeFailure, describeAttempt, formatMs } from './report.js';
export { parseStatusSpec, type StatusSpec } from './status-spec.js';
export { parseBodyExpectation, jsonMismatch } from './body.js';
export { readinessUrl, redactUrl } from './url.js';
