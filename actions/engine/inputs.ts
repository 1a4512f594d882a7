import * as core from '@actions/core';
import { z } from 'zod';

/** Bad input: names the input and what was expected. Raised before anything changes. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    expected: string,
  ) {
    super(`Invalid input "${input}": ${expected}`);
    this.name = 'InputError';
  }
}

type Field<T> = z.ZodType<T, string>;
type Shape = Record<string, Field<unknown>>;
export type InputsOf<S extends Shape> = { [K in keyof S]: z.output<S[K]> };

/** Reads and validates inputs by their action.yml names; the first bad one throws an InputError. */
export function readInputs<S extends Shape>(
  shape: S,
  read: (name: string) => string = (name) => core.getInput(name),
): InputsOf<S> {
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(shape)) {
    const raw = read(name);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const message = parsed.error.issues[0]?.message ?? 'is invalid';
      throw new InputError(name, message);
    }
    values[name] = parsed.data;
  }
  return values as InputsOf<S>;
}

const show = (value: string) => JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);

function fail(ctx: z.core.$RefinementCtx<string>, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER as never;
}

export const input = {
  /** A required string (after trimming). */
  required(expected = 'a value'): Field<string> {
    return z.string().transform((raw, ctx) => {
      const value = raw.trim();
      return value ? value : fail(ctx, `is required: expected ${expected}`);
    });
  },

  optional(): Field<string | undefined> {
    return z.string().transform((raw) => raw.trim() || undefined);
  },

  withDefault(fallback: string): Field<string> {
    return z.string().transform((raw) => raw.trim() || fallback);
  },

  /** A string matching a pattern; `fallback` when empty (undefined fallback = optional). */
  matching<D extends string | undefined>(pattern: RegExp, expected: string, fallback?: D): Field<string | D> {
    return z.string().transform((raw, ctx) => {
      const value = raw.trim();
      if (!value) return fallback as D;
      return pattern.test(value) ? value : fail(ctx, `expected ${expected}, got ${show(value)}`);
    });
  },

  /** A secret: masked in the log as soon as it is read (each line too, for keys). */
  secret(required: boolean, expected = 'a secret'): Field<string | undefined> {
    return z.string().transform((raw, ctx) => {
      if (raw.trim()) mask(raw);
      if (!raw.trim()) return required ? fail(ctx, `is required: expected ${expected}`) : undefined;
      return raw;
    });
  },

  boolean(fallback: boolean): Field<boolean> {
    return z.string().transform((raw, ctx) => {
      const value = raw.trim().toLowerCase();
      if (!value) return fallback;
      if (value === 'true') return true;
      if (value === 'false') return false;
      return fail(ctx, `expected true or false, got ${show(raw)}`);
    });
  },

  integer(fallback: number | undefined, min: number, max: number): Field<number> {
    return z.string().transform((raw, ctx) => {
      const value = raw.trim();
      if (!value) return fallback ?? fail(ctx, `is required: expected a whole number from ${min} to ${max}`);
      if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        return fail(ctx, `expected a whole number from ${min} to ${max}, got ${show(value)}`);
      }
      return Number(value);
    });
  },

  /** A duration such as `60s`, `2m`, `1m30s`, `500ms` or a bare number of seconds; in milliseconds. */
  duration(fallbackMs: number, { min = 0 }: { min?: number } = {}): Field<number> {
    return z.string().transform((raw, ctx) => {
      const value = raw.trim();
      if (!value) return fallbackMs;
      const ms = parseDuration(value);
      if (ms === undefined)
        return fail(ctx, `expected a duration such as 60s, 2m, 1m30s or 500ms, got ${show(value)}`);
      if (ms < min) return fail(ctx, `expected a duration of at least ${min} ms, got ${show(value)}`);
      return ms;
    });
  },

  oneOf<const T extends string>(choices: readonly T[], fallback: T): Field<T> {
    return z.string().transform((raw, ctx) => {
      const value = raw.trim();
      if (!value) return fallback;
      return (choices as readonly string[]).includes(value)
        ? (value as T)
        : fail(ctx, `expected one of ${choices.join(', ')}, got ${show(value)}`);
    });
  },

  /** A list separated by newlines, commas or spaces. */
  list(): Field<string[]> {
    return z.string().transform((raw) => raw.split(/[\s,]+/).filter(Boolean));
  },

  /** `KEY=VALUE` lines (or comma separated). */
  keyValues(): Field<Record<string, string>> {
    return z.string().transform((raw, ctx) => {
      const pairs: Record<string, string> = {};
      for (const line of raw
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)) {
        const eq = line.indexOf('=');
        if (eq <= 0) return fail(ctx, `expected KEY=VALUE lines, got ${show(line)}`);
        pairs[line.slice(0, eq).trim()] = line.slice(eq + 1);
      }
      return pairs;
    });
  },
};

export function parseDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const match = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(text);
  if (!match || text === '') return undefined;
  const [, h = '0', m = '0', s = '0', ms = '0'] = match;
  return Math.round(Number(h) * 3_600_000 + Number(m) * 60_000 + Number(s) * 1000 + Number(ms));
}

export function mask(secret: string): void {
  core.setSecret(secret);
  for (const line of secret.split(/\r?\n/)) if (line.trim().length > 3) core.setSecret(line.trim());
}
