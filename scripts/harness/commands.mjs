// What a step tells the runner: file commands (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH) and workflow
// commands on stdout (::add-mask::, ::error::, ::warning::, ::stop-commands::).
import { existsSync, readFileSync } from 'node:fs';

/** Parses `name=value` and `name<<DELIMITER … DELIMITER` lines, as the runner does for GITHUB_OUTPUT/GITHUB_ENV. */
export function parseKeyValueFile(path) {
  const values = {};
  if (!existsSync(path)) return values;
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    const equals = line.indexOf('=');
    if (heredoc && (equals < 0 || line.indexOf('<<') < equals)) {
      const [, name, delimiter] = heredoc;
      const value = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]);
      if (i >= lines.length) throw new Error(`${path}: no closing delimiter ${delimiter} for ${name}`);
      values[name] = value.join('\n');
    } else if (equals > 0) {
      values[line.slice(0, equals)] = line.slice(equals + 1);
    } else {
      throw new Error(`${path}: cannot parse line ${JSON.stringify(line)}`);
    }
  }
  return values;
}

export function parsePathFile(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

function decodeData(value) {
  return value.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

/**
 * Reads the workflow commands in a step's stdout. Returns the lines a user would see (commands that the
 * runner consumes are left out), the values to mask and the annotations.
 */
export function readWorkflowCommands(stdout) {
  const masks = [];
  const errors = [];
  const warnings = [];
  const visible = [];
  let stopToken;
  for (const line of stdout.split('\n')) {
    if (stopToken) {
      if (line === `::${stopToken}::`) stopToken = undefined;
      else visible.push(line);
      continue;
    }
    const command = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!command) {
      visible.push(line);
      continue;
    }
    const [, name, , value] = command;
    if (name === 'add-mask') masks.push(decodeData(value));
    else if (name === 'stop-commands') stopToken = value;
    else if (name === 'error') {
      errors.push(decodeData(value));
      visible.push(`Error: ${decodeData(value)}`);
    } else if (name === 'warning') {
      warnings.push(decodeData(value));
      visible.push(`Warning: ${decodeData(value)}`);
    } else if (name === 'group') visible.push(`▸ ${decodeData(value)}`);
    else if (name === 'endgroup' || name === 'debug' || name === 'notice') continue;
    else visible.push(line);
  }
  return { visible: visible.join('\n'), masks, errors, warnings };
}

/** Replaces every secret value (and each line of a multi-line one) with ***, like the runner's log. */
export function masker(values) {
  const needles = [
    ...new Set(
      values
        .filter((value) => typeof value === 'string' && value)
        .flatMap((value) => [value, ...value.split(/\r?\n/)])
        .map((value) => value.trim())
        .filter((value) => value.length > 0),
    ),
  ].sort((a, b) => b.length - a.length);
  return (text) => needles.reduce((masked, needle) => masked.split(needle).join('***'), text);
}
