import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { ConfigError, dottedPath, type ConfigOrigin, type ConfigPath } from './config-error.js';

/** A parsed YAML file that can tell the line of any path into its data. */
export interface YamlSource {
  file: string;
  data: unknown;
  originOf(path: ConfigPath): ConfigOrigin;
}

export function parseYaml(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, prettyErrors: true });
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const line = syntaxError.linePos?.[0].line ?? 1;
    const problem = syntaxError.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError({ file, line, key: '' }, `invalid YAML: ${problem}`);
  }
  keepNumbersAsWritten(doc);
  const originOf = (path: ConfigPath): ConfigOrigin => ({
    file,
    line: lineOf(doc, lines, path),
    key: dottedPath(path),
  });
  return { file, data: toData(doc, file), originOf };
}

/** Settings are text: `1.10` stays `1.10` and `0x1F` stays `0x1F` instead of becoming 1.1 and 31. */
function keepNumbersAsWritten(doc: Document): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
    },
  });
}

function toData(doc: Document, file: string): unknown {
  try {
    return doc.toJS();
  } catch (error) {
    // Aliases that cannot be resolved, or that expand too much.
    throw new ConfigError({ file, line: 1, key: '' }, `invalid YAML: ${(error as Error).message}`);
  }
}

/**
 * The line of the deepest node of `path` that the file holds: a map entry's key line (so a missing
 * key is reported on the map that lacks it), a list item's first line.
 */
function lineOf(doc: Document, lines: LineCounter, path: ConfigPath): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const part of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(part));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? rangeStart(pair.value) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number' && node.items[part]) {
      node = node.items[part];
      offset = rangeStart(node) ?? offset;
    } else break;
  }
  return lines.linePos(offset).line;
}

function keyText(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined;
}

function rangeStart(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[0];
}
