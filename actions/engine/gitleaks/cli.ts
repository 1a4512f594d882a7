// What the gitleaks binary at hand can do: any 8.x. 8.19 renamed `detect` (history) to `git` and
// `detect --no-git` to `dir`, and flags came over the versions (--no-color in 8.18, --gitleaks-ignore-path,
// …). Builds without a version number exist (Debian's prints "version is set by build process"), so the
// commands and flags are read from the binary's own help, and the version only names it and rules out 7.x.
import { gitleaks, type GitleaksDialect } from '../commands/gitleaks.js';
import type { Executor } from '../exec/executor.js';

export const MINIMUM_GITLEAKS = '8.0.0';

export interface GitleaksCli extends GitleaksDialect {
  /** `8.16.0`, or undefined for a build that prints no version number. */
  version?: string;
  /** How the log and summary name it. */
  label: string;
  /** 8.0.0 to 8.2.2 write no report file when they find nothing. */
  silentWhenClean: boolean;
}

export class UnsupportedGitleaksError extends Error {
  constructor(binary: string, found: string) {
    super(`gitleaks-gate needs gitleaks ${MINIMUM_GITLEAKS} or newer; ${binary} is ${found}`);
    this.name = 'UnsupportedGitleaksError';
  }
}

/** Flags gitleaks-gate cannot work without; every 8.x has them. */
const REQUIRED_FLAGS = ['log-opts', 'report-format', 'report-path', 'exit-code', 'redact', 'config'];

export function parseVersion(output: string): string | undefined {
  return /\bv?(\d+\.\d+\.\d+)\b/.exec(output)?.[1];
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Names under "Available Commands:" in cobra's help. */
export function commandsOf(help: string): Set<string> {
  const section = /Available Commands:\n([\s\S]*?)(?:\n\s*\n|$)/.exec(help)?.[1] ?? '';
  return new Set(
    section
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0] ?? '')
      .filter(Boolean),
  );
}

/** Long flag names a command's help lists (`--log-opts string` → `log-opts`). */
export function flagsOf(help: string): Set<string> {
  return new Set([...help.matchAll(/(?:^|\s)--([a-z][a-z0-9-]*)/gm)].map((match) => match[1]!));
}

export function describeCli(
  binary: string,
  versionOutput: string,
  rootHelp: string,
  commandHelp: (command: 'git' | 'detect') => string,
): GitleaksCli {
  const version = parseVersion(versionOutput);
  const label = version ?? 'of unknown version (a build that prints none)';
  if (version && compareVersions(version, MINIMUM_GITLEAKS) < 0) {
    throw new UnsupportedGitleaksError(binary, `gitleaks ${version}`);
  }
  if (version === '8.19.0') {
    // Its `git` and `dir` stop on "flag accessed but not defined: source"; fixed in 8.19.1.
    throw new UnsupportedGitleaksError(
      binary,
      'gitleaks 8.19.0, whose `git` and `dir` commands always fail (use 8.19.1 or newer)',
    );
  }
  const commands = commandsOf(rootHelp);
  const style =
    commands.has('git') && commands.has('dir') ? 'git' : commands.has('detect') ? 'detect' : undefined;
  if (!style) {
    throw new UnsupportedGitleaksError(
      binary,
      `a gitleaks ${label} with neither \`git\` nor \`detect\` commands`,
    );
  }
  const flags = flagsOf(commandHelp(style));
  const missing = REQUIRED_FLAGS.filter((flag) => !flags.has(flag));
  if (missing.length) {
    throw new UnsupportedGitleaksError(
      binary,
      `a gitleaks ${label} whose \`${style}\` lacks ${missing.map((flag) => `--${flag}`).join(', ')}`,
    );
  }
  const silentWhenClean = version !== undefined && compareVersions(version, '8.2.3') < 0;
  return { version, label, style, flags, silentWhenClean };
}

/** Asks the binary: `version`, `--help`, `<git|detect> --help`. */
export async function probeGitleaks(executor: Executor, binary: string): Promise<GitleaksCli> {
  const output = async (argv: string[]) => {
    const run = await executor.run(argv, { check: false });
    return `${run.stdout}\n${run.stderr}`;
  };
  const [versionOutput, rootHelp] = await Promise.all([
    output(gitleaks.version(binary)),
    output(gitleaks.help(binary)),
  ]);
  const commands = commandsOf(rootHelp);
  const helps = new Map<string, string>();
  for (const command of ['git', 'detect'] as const) {
    if (commands.has(command)) helps.set(command, await output(gitleaks.help(binary, command)));
  }
  return describeCli(binary, versionOutput, rootHelp, (command) => helps.get(command) ?? '');
}
