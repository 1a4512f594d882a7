// `${{ }}` expressions, evaluated with GitHub's own implementation (@actions/expressions).
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';

const CONTEXT_NAMES = [
  'github',
  'inputs',
  'vars',
  'needs',
  'strategy',
  'matrix',
  'secrets',
  'steps',
  'job',
  'jobs',
  'runner',
  'env',
];

/** Plain JSON-like value -> the library's ExpressionData. */
export function toData(value) {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver);
}

/** ExpressionData -> plain value (null, boolean, number, string, array, object). */
export function fromData(value) {
  switch (value.kind) {
    case data.Kind.Null:
      return null;
    case data.Kind.Boolean:
    case data.Kind.Number:
    case data.Kind.String:
      return value.value;
    case data.Kind.Array:
      return value.values().map(fromData);
    default:
      return Object.fromEntries(value.pairs().map(({ key, value: item }) => [key, fromData(item)]));
  }
}

/** GitHub's truthiness: false, 0, -0, "", null are false; everything else (objects too) is true. */
export function truthy(value) {
  return !(
    value === false ||
    value === 0 ||
    value === '' ||
    value === null ||
    value === undefined ||
    Number.isNaN(value)
  );
}

/** How GitHub turns a value into text (`${{ true }}` -> "true", objects -> "Object"). */
export function asString(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return Array.isArray(value) ? 'Array' : 'Object';
  return String(value);
}

/**
 * Status functions (success(), failure(), always(), cancelled()) for where they are allowed, from the
 * current status ("success" | "failure").
 */
export function statusFunctions(status) {
  const fn = (name, result) => ({ name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(result()) });
  return [
    fn('success', () => status() === 'success'),
    fn('failure', () => status() === 'failure'),
    fn('always', () => true),
    fn('cancelled', () => false),
  ];
}

function hashFilesUnsupported() {
  return {
    name: 'hashfiles',
    minArgs: 1,
    maxArgs: 255,
    call: () => {
      throw new Error('hashFiles() is not supported by the workflow harness');
    },
  };
}

/** Evaluates one expression (without `${{ }}`) against plain-object contexts. */
export function evaluate(source, contexts, functions = []) {
  const all = [...functions, hashFilesUnsupported()];
  let parsed;
  try {
    parsed = new Parser(new Lexer(source).lex().tokens, CONTEXT_NAMES, all).parse();
  } catch (error) {
    throw new Error(`cannot parse expression ${JSON.stringify(source)}: ${error.message}`);
  }
  const dictionary = new data.Dictionary(
    ...CONTEXT_NAMES.filter((name) => name in contexts).map((name) => ({
      key: name,
      value: toData(contexts[name]),
    })),
  );
  const implementations = new Map(all.map((fn) => [fn.name.toLowerCase(), fn]));
  return fromData(new Evaluator(parsed, dictionary, implementations).evaluate());
}

/** Splits a template string into literal text and `${{ expr }}` parts (quotes inside expressions honoured). */
export function splitTemplate(text) {
  const parts = [];
  let rest = text;
  for (;;) {
    const start = rest.indexOf('${{');
    if (start < 0) break;
    if (start > 0) parts.push({ text: rest.slice(0, start) });
    let i = start + 3;
    let inString = false;
    for (; i < rest.length; i++) {
      if (rest[i] === "'") {
        if (inString && rest[i + 1] === "'") i++;
        else inString = !inString;
      } else if (!inString && rest[i] === '}' && rest[i + 1] === '}') break;
    }
    if (i >= rest.length) throw new Error(`unterminated \${{ in ${JSON.stringify(text)}`);
    parts.push({ expression: rest.slice(start + 3, i).trim() });
    rest = rest.slice(i + 2);
  }
  if (rest) parts.push({ text: rest });
  return parts;
}

/**
 * Evaluates a workflow value: a string that is one `${{ expr }}` keeps the expression's type, a string
 * mixing text and expressions becomes text, anything else (YAML booleans, numbers) stays as it is.
 */
export function interpolate(value, contexts, functions = []) {
  if (typeof value !== 'string') return value;
  const parts = splitTemplate(value);
  if (parts.length === 1 && parts[0].expression !== undefined)
    return evaluate(parts[0].expression, contexts, functions);
  return parts
    .map((part) =>
      part.expression === undefined ? part.text : asString(evaluate(part.expression, contexts, functions)),
    )
    .join('');
}

/** An `if:` condition: a bare expression or one wrapped in `${{ }}`; without a status function, success() && it. */
export function condition(source, contexts, functions) {
  if (source === undefined || source === null || source === '')
    return evaluate('success()', contexts, functions);
  if (typeof source === 'boolean') return source;
  const text = String(source).trim();
  const parts = splitTemplate(text);
  const expression = parts.length === 1 && parts[0].expression !== undefined ? parts[0].expression : text;
  if (parts.length > 1) return truthy(interpolate(text, contexts, functions));
  const usesStatus = /\b(success|failure|always|cancelled)\s*\(/i.test(expression);
  const result = evaluate(usesStatus ? expression : `success() && (${expression})`, contexts, functions);
  return truthy(result);
}
