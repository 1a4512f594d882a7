import { z } from 'zod';
import type { Reporter } from './reporter.js';

/** Bad input: names the input and what was expected. Raised before anything changes. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    readonly expected: string,
  ) {
    super(`Invalid input "${input}": ${expected}`);
    this.name = 'InputError';
  }
}

type Field<T> = z.ZodType<T, string>;
type Shape = Record<string, Field<unknown>>;
export type InputsOf<S extends Shape> = { [K in keyof S]: z.output<S[K]> };

/** Where inputs come from (the runner's INPUT_* on GitHub) and who masks the secrets among them. */
export interface InputSource {
  /** The raw value of an input by its action.yml name; '' when it is not given. */
  read(name: string): string;
  reporter: Reporter;
}

/** Fields whose raw text holds secrets, with the function that finds them: masked before validation. */
const secretsIn = new WeakMap<Field<unknown>, (raw: string) => string[]>();

/** Marks a field as carrying secrets: `find` returns the parts of the raw text to mask. */
export function sensitive<T>(field: Field<T>, find: (raw: string) => string[]): Field<T> {
  secretsIn.set(field as Field<unknown>, find);
  return field;
}

/** The same source with other names or fallbacks (e.g. `source-ready-path` falling back to `ready-path`). */
export function readingWith(source: InputSource, read: (name: string) => string): InputSource {
  return { read, reporter: source.reporter };
}

/** Reads and validates inputs by their action.yml names; the first bad one throws an InputError. */
export function readInputs<S extends Shape>(shape: S, source: InputSource): InputsOf<S> {
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(shape)) {
    const raw = source.read(name);
    const find = secretsIn.get(schema);
    if (find && raw.trim()) for (const secret of find(raw)) mask(secret, source.reporter);
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

/** Fails a field's transform with `message` (readInputs turns it into an InputError naming the input). */
export function fail(ctx: z.core.$RefinementCtx<string>, message: string): never {
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
    return sensitive(
      z.string().transform((raw, ctx) => {
        if (!raw.trim()) return required ? fail(ctx, `is required: expected ${expected}`) : undefined;
        return raw;
      }),
      (raw) => [raw],
    );
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

/** Masks a secret, and each of its lines (keys, multi-line tokens) that is long enough to mask safely. */
export function mask(secret: string, reporter: Reporter): void {
  reporter.mask(secret);
  for (const line of secret.split(/\r?\n/)) if (line.trim().length > 3) reporter.mask(line.trim());
}

/** Inputs from a plain record (tests, scripts): absent names read as ''. */
export function inputsFrom(values: Record<string, string | undefined>, reporter: Reporter): InputSource {
  return { read: (name) => values[name] ?? '', reporter };
}
