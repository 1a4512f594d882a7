import { jsonMismatch, type BodyExpectation } from './body.js';
import {
  AbortedError,
  httpGet,
  RequestTimeoutError,
  TlsError,
  type Connect,
  type HttpAnswer,
} from './http-get.js';
import type { StatusSpec } from './status-spec.js';
import { basicAuthFromUrl, redactUrl } from './url.js';

export interface AttemptPlan {
  url: URL;
  status: StatusSpec;
  body?: BodyExpectation;
  json?: Record<string, unknown>;
  headers: Record<string, string>;
  followRedirects: boolean;
  insecureTls: boolean;
  connect?: Connect;
  signal?: AbortSignal;
}

export interface AttemptVerdict {
  ok: boolean;
  status?: number;
  outcome: string;
  aborted?: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
/** Headers that prove who we are; never sent to another host than the one they were given for. */
const HOST_BOUND_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization', 'host']);

/** One readiness attempt: a GET (following redirects when asked), judged against the expectations. */
export async function attempt(plan: AttemptPlan, timeoutMs: number): Promise<AttemptVerdict> {
  const started = performance.now();
  let url = plan.url;
  for (let redirects = 0; ; redirects++) {
    const left = Math.max(1, Math.round(timeoutMs - (performance.now() - started)));
    let answer: HttpAnswer;
    try {
      answer = await httpGet(url, {
        headers: headersFor(plan, url),
        timeoutMs: left,
        insecureTls: plan.insecureTls,
        connect: plan.connect,
        signal: plan.signal,
      });
    } catch (error) {
      if (error instanceof RequestTimeoutError)
        return { ok: false, outcome: `timed out after ${timeoutMs} ms` };
      return { ok: false, outcome: describeError(error as Error), aborted: error instanceof AbortedError };
    }
    const { status, location } = answer;
    if (REDIRECTS.has(status) && location !== undefined) {
      const target = resolveLocation(location, url);
      if (!plan.followRedirects) {
        if (plan.status.matches(status)) return { ok: true, status, outcome: 'ready' };
        return {
          ok: false,
          status,
          outcome: `status ${status} (a redirect to ${target}; follow-redirects is off), expected ${plan.status.text}`,
        };
      }
      if (typeof target === 'string' || (target.protocol !== 'http:' && target.protocol !== 'https:'))
        return {
          ok: false,
          status,
          outcome: `status ${status}: cannot follow the redirect to ${String(target)}`,
        };
      if (redirects >= MAX_REDIRECTS)
        return { ok: false, status, outcome: `more than ${MAX_REDIRECTS} redirects` };
      url = target;
      continue;
    }
    if (!plan.status.matches(status))
      return { ok: false, status, outcome: `status ${status}, expected ${plan.status.text}` };
    const mismatch = plan.body?.mismatch(answer.body) ?? (plan.json && jsonMismatch(plan.json, answer.body));
    if (mismatch) return { ok: false, status, outcome: mismatch };
    return { ok: true, status, outcome: 'ready' };
  }
}

function headersFor(plan: AttemptPlan, url: URL): Record<string, string> {
  const sameHost = url.hostname === plan.url.hostname;
  const headers: Record<string, string> = {};
  const auth = sameHost ? basicAuthFromUrl(plan.url) : undefined;
  if (auth) headers.Authorization = auth;
  for (const [name, value] of Object.entries(plan.headers)) {
    if (sameHost || !HOST_BOUND_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  return headers;
}

/** The redirect target as a URL without credentials, or the redacted raw text when it is not a URL. */
function resolveLocation(location: string, base: URL): URL | string {
  try {
    const target = new URL(location, base);
    target.username = '';
    target.password = '';
    return target;
  } catch {
    return JSON.stringify(redactUrl(location));
  }
}

/** Short, plain words for what went wrong with the connection. */
export function describeError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof TlsError) {
    return `TLS error: ${error.cause.message} (set insecure-tls: true only for a self-signed certificate you trust)`;
  }
  if (error instanceof AbortedError) return 'cancelled';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset before an answer';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${code})`;
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_STATUS':
    case 'HPE_INVALID_HEADER_TOKEN':
      return 'the answer is not HTTP';
  }
  // Errors of a channel opened over SSH ("(SSH) Channel open failure: Connection refused").
  if (/refused/i.test(error.message)) return 'connection refused (on the SSH host)';
  return redactUrl(error.message.replace(/^\(SSH\) /, 'SSH: ')) || error.name;
}
