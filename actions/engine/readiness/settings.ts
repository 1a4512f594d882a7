import { z } from 'zod';
import { fail, input, InputError, readInputs, sensitive, type InputSource } from '../inputs.js';
import { parseBodyExpectation } from './body.js';
import type { ReadinessCheck } from './types.js';
import { formatMs } from './report.js';
import { parseStatusSpec } from './status-spec.js';

export type ReadinessSettings = Omit<ReadinessCheck, 'url' | 'connect' | 'signal' | 'onAttempt'>;

/** Used as the cap of a backoff when `max-interval` is not given. */
export const DEFAULT_MAX_INTERVAL_MS = 10_000;

/** RFC 9110 token characters: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Shorter values cannot be masked without starring unrelated text all over the log. */
const MIN_MASKED_LENGTH = 4;

const field = {
  statusSpec: () =>
    z.string().transform((raw, ctx) => {
      const value = raw.trim() || '200';
      try {
        return parseStatusSpec(value) && value;
      } catch (error) {
        return fail(ctx, (error as Error).message);
      }
    }),

  bodyExpectation: () =>
    z.string().transform((raw, ctx) => {
      if (!raw.trim()) return undefined;
      try {
        parseBodyExpectation(raw);
        return raw;
      } catch (error) {
        return fail(ctx, (error as Error).message);
      }
    }),

  jsonObject: () =>
    z.string().transform((raw, ctx): Record<string, unknown> | undefined => {
      if (!raw.trim()) return undefined;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        return fail(ctx, `expected a JSON object such as {"version":"abc123"}: ${(error as Error).message}`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return fail(ctx, 'expected a JSON object such as {"version":"abc123"}');
      return value as Record<string, unknown>;
    }),

  factor: () =>
    z.string().transform((raw, ctx) => {
      const value = raw.trim();
      if (!value) return 1;
      if (!/^\d+(\.\d+)?$/.test(value) || Number(value) < 1 || Number(value) > 10)
        return fail(
          ctx,
          `expected a factor from 1 (no backoff) to 10, such as 1.5, got ${JSON.stringify(value)}`,
        );
      return Number(value);
    }),

  /** `Name: value` lines (`Name=value` too). Values are masked as soon as they are read. */
  headers: () =>
    sensitive(
      z.string().transform((raw, ctx) => {
        const headers: Record<string, string> = {};
        for (const [index, { name, value }] of headerLines(raw).entries()) {
          // Never quote the line: it may hold a token.
          if (!name || !HEADER_NAME.test(name))
            return fail(ctx, `expected "Name: value" lines; line ${index + 1} has no valid header name`);
          headers[name] = value;
        }
        return headers;
      }),
      (raw) =>
        headerLines(raw)
          .map((header) => header.value)
          .filter((v) => v.length >= MIN_MASKED_LENGTH),
    ),
};

function headerLines(raw: string): Array<{ name: string; value: string }> {
  return raw
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const split = line.search(/[:=]/);
      return split > 0
        ? { name: line.slice(0, split).trim(), value: line.slice(split + 1).trim() }
        : { name: '', value: '' };
    });
}

/** Inputs shared by verify-ready, deploy-staging and promote-prod (optionally prefixed, e.g. `ready-`). */
export function readinessInputShape(prefix = '') {
  return {
    [`${prefix}expected-status`]: field.statusSpec(),
    [`${prefix}expect-body`]: field.bodyExpectation(),
    [`${prefix}expect-json`]: field.jsonObject(),
    [`${prefix}timeout`]: input.duration(60_000, { min: 1 }),
    [`${prefix}interval`]: input.duration(1000, { min: 10 }),
    [`${prefix}backoff`]: field.factor(),
    /** 0: not given (a backoff then stops growing at DEFAULT_MAX_INTERVAL_MS). */
    [`${prefix}max-interval`]: input.duration(0, { min: 1 }),
    [`${prefix}request-timeout`]: input.duration(5000, { min: 1 }),
    [`${prefix}consecutive-successes`]: input.integer(1, 1, 100),
    [`${prefix}headers`]: field.headers(),
    [`${prefix}follow-redirects`]: input.boolean(false),
    [`${prefix}insecure-tls`]: input.boolean(false),
  };
}

/** Reads and cross-checks the readiness inputs; the first bad one throws an InputError naming it. */
export function readReadinessSettings(prefix: string, source: InputSource): ReadinessSettings {
  const values = readInputs(readinessInputShape(prefix), source) as Record<string, unknown>;
  const get = <T>(name: string) => values[`${prefix}${name}`] as T;
  const timeoutMs = get<number>('timeout');
  // The default interval shrinks to fit a short timeout; a given one must fit.
  const intervalGiven = source.read(`${prefix}interval`).trim() !== '';
  const intervalMs = intervalGiven ? get<number>('interval') : Math.min(get<number>('interval'), timeoutMs);
  const backoff = get<number>('backoff');
  const consecutiveSuccesses = get<number>('consecutive-successes');
  if (intervalMs > timeoutMs)
    throw new InputError(
      `${prefix}interval`,
      `must not be longer than ${prefix}timeout (${formatMs(intervalMs)} > ${formatMs(timeoutMs)})`,
    );
  if ((consecutiveSuccesses - 1) * intervalMs >= timeoutMs)
    throw new InputError(
      `${prefix}consecutive-successes`,
      `${consecutiveSuccesses} successes ${formatMs(intervalMs)} apart cannot fit in ${prefix}timeout (${formatMs(timeoutMs)})`,
    );
  const maxIntervalMs = readMaxInterval(prefix, get<number>('max-interval'), intervalMs, backoff);
  const insecureTls = get<boolean>('insecure-tls');
  if (insecureTls)
    source.reporter.warning(
      `${prefix}insecure-tls is true: the app's TLS certificate is NOT verified. Use it only for a self-signed certificate you trust.`,
    );
  return {
    expectedStatus: get('expected-status'),
    expectBody: get('expect-body'),
    expectJson: get('expect-json'),
    timeoutMs,
    intervalMs,
    backoff,
    maxIntervalMs,
    requestTimeoutMs: get('request-timeout'),
    consecutiveSuccesses,
    headers: get('headers'),
    followRedirects: get('follow-redirects'),
    insecureTls,
  };
}

function readMaxInterval(
  prefix: string,
  givenMs: number,
  intervalMs: number,
  backoff: number,
): number | undefined {
  if (!givenMs) return backoff > 1 ? Math.max(DEFAULT_MAX_INTERVAL_MS, intervalMs) : undefined;
  if (givenMs < intervalMs)
    throw new InputError(
      `${prefix}max-interval`,
      `must not be shorter than ${prefix}interval (${formatMs(givenMs)} < ${formatMs(intervalMs)})`,
    );
  return givenMs;
}
