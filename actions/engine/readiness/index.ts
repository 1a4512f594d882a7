export { waitUntilReady, HISTORY_LIMIT } from './check.js';
export type { ReadinessAttempt, ReadinessCheck, ReadinessResult } from './types.js';
export {
  endpointCheck,
  endpointUrl,
  describeEndpoint,
  readEndpoint,
  endpointInputShape,
  DEPLOY_ENDPOINT_INPUTS,
  type ReadinessEndpoint,
  type EndpointInputNames,
} from './endpoint.js';
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
