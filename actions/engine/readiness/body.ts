/** What the body of a ready answer must contain: a substring, or a regular expression written `/…/flags`. */
export interface BodyExpectation {
  /** Undefined when the body fits; otherwise why not. */
  mismatch(body: string): string | undefined;
  text: string;
}

const REGEX_LITERAL = /^\/(.+)\/([a-z]*)$/s;

/** Parses `expect-body`; throws an Error naming the problem for an invalid regular expression. */
export function parseBodyExpectation(raw: string): BodyExpectation {
  const literal = REGEX_LITERAL.exec(raw);
  if (!literal) {
    return {
      text: JSON.stringify(raw),
      mismatch: (body) =>
        body.includes(raw)
          ? undefined
          : `body does not contain ${JSON.stringify(raw)} (got ${excerpt(body)})`,
    };
  }
  const [, source = '', flags = ''] = literal;
  let regex: RegExp;
  try {
    // `g` and `y` make test() stateful across attempts; they mean nothing for a yes/no match.
    regex = new RegExp(source, flags.replace(/[gy]/g, ''));
  } catch (error) {
    throw new Error(`expected a substring or a valid /regex/flags, got ${raw}: ${(error as Error).message}`);
  }
  return {
    text: `${regex}`,
    mismatch: (body) =>
      regex.test(body) ? undefined : `body does not match ${regex} (got ${excerpt(body)})`,
  };
}

/**
 * Subset match of a JSON body: every key of `expected` must be there with an equal value (objects
 * recursively; arrays element by element, same length). Returns why not, or undefined.
 */
export function jsonMismatch(expected: Record<string, unknown>, body: string): string | undefined {
  let actual: unknown;
  try {
    actual = JSON.parse(body);
  } catch {
    return `body is not JSON (got ${excerpt(body)})`;
  }
  const problem = subsetMismatch(expected, actual, '');
  return problem && `JSON body: ${problem}`;
}

function subsetMismatch(expected: unknown, actual: unknown, path: string): string | undefined {
  const where = path || 'the body';
  if (isObject(expected)) {
    if (!isObject(actual)) return `${where} is ${describe(actual)}, expected an object`;
    for (const [key, value] of Object.entries(expected)) {
      const child = path ? `${path}.${key}` : key;
      if (!Object.hasOwn(actual, key)) return `${child} is missing, expected ${describe(value)}`;
      const problem = subsetMismatch(value, actual[key], child);
      if (problem) return problem;
    }
    return undefined;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return `${where} is ${describe(actual)}, expected ${describe(expected)}`;
    for (let i = 0; i < expected.length; i++) {
      const problem = subsetMismatch(expected[i], actual[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  return Object.is(expected, actual)
    ? undefined
    : `${where} is ${describe(actual)}, expected ${describe(expected)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The start of a body on one line, for messages. */
export function excerpt(body: string, max = 80): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  if (!flat) return 'an empty body';
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max - 3)}...` : flat);
}
