// gitleaks argv lists, and what a finished run means. Pure: no I/O.
import { stripVTControlCharacters } from 'node:util';

/** The commands and flags of the gitleaks at hand (gitleaks/cli.ts reads them from its help). */
export interface GitleaksDialect {
  /** `git`/`dir` (8.19 and later) or `detect`/`detect --no-git` (8.0 to 8.18). */
  style: 'git' | 'detect';
  /** Long flags the scan commands accept (their own and the global ones). */
  flags: ReadonlySet<string>;
}

/** Exit code asked of gitleaks when it finds leaks: distinct from its own failures (1 fatal, 2 panic, 126 flags). */
export const LEAKS_EXIT_CODE = 99;

export interface ScanCommand {
  binary: string;
  cli: GitleaksDialect;
  /** The repository (history) or directory (working tree) to scan. */
  source: string;
  reportPath: string;
  config?: string;
  baseline?: string;
}

/** Merge commits show their diff against the first parent: a conflict resolution can add a secret too. */
export const MERGE_DIFFS = '--diff-merges=first-parent';

function common(command: ScanCommand): string[] {
  const has = (flag: string) => command.cli.flags.has(flag);
  return [
    ...(has('no-banner') ? ['--no-banner'] : []),
    ...(has('no-color') ? ['--no-color'] : []),
    '--redact',
    `--exit-code=${LEAKS_EXIT_CODE}`,
    '--report-format=sarif',
    `--report-path=${command.reportPath}`,
    ...(command.config ? [`--config=${command.config}`] : []),
    ...(command.baseline ? [`--baseline-path=${command.baseline}`] : []),
  ];
}

export const gitleaks = {
  version(binary: string): string[] {
    return [binary, 'version'];
  },
  /** The root help (`command` undefined) or a command's: what the binary can do. */
  help(binary: string, command?: string): string[] {
    return command === undefined ? [binary, '--help'] : [binary, command, '--help'];
  },
  /**
   * The history scan over exactly `logOpts`: `gitleaks git <source>` (8.19+) or `gitleaks detect --source`
   * (earlier). gitleaks hands the options to `git log -p -U0`, split on spaces.
   */
  gitScan(command: ScanCommand & { logOpts: readonly string[]; mergeDiffs?: boolean }): string[] {
    if (command.logOpts.length === 0 || command.logOpts.some((word) => word === '' || /\s/.test(word))) {
      throw new Error(`log options must be single words: ${JSON.stringify(command.logOpts)}`);
    }
    const merges = command.mergeDiffs === false ? [] : [MERGE_DIFFS];
    const logOpts = `--log-opts=${[...merges, ...command.logOpts].join(' ')}`;
    return command.cli.style === 'git'
      ? [command.binary, 'git', ...common(command), logOpts, command.source]
      : [command.binary, 'detect', ...common(command), logOpts, `--source=${command.source}`];
  },
  /** The working-tree scan: `gitleaks dir <source>` (8.19+) or `gitleaks detect --no-git --source`. */
  dirScan(command: ScanCommand): string[] {
    return command.cli.style === 'git'
      ? [command.binary, 'dir', ...common(command), command.source]
      : [command.binary, 'detect', '--no-git', ...common(command), `--source=${command.source}`];
  },
};

export type RunOutcome = { kind: 'completed'; report: string } | { kind: 'failed'; reason: string };

/** Log lines in which gitleaks reports a failure, even one it then exits 0 on (a `git log` that failed). */
export function errorLines(stderr: string): string[] {
  return stripVTControlCharacters(stderr)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^(?:\S+\s+)?(?:ERR|FTL)\b/.test(line) || line.startsWith('panic:'));
}

/**
 * Whether gitleaks finished a scan: it exited 0 or with LEAKS_EXIT_CODE, logged no error and wrote a report.
 * Anything else is a failure of the tool, never a verdict about secrets.
 */
export function judgeRun(code: number, stderr: string, report: string | undefined): RunOutcome {
  const errors = errorLines(stderr);
  const tail = (errors.length ? errors : stripVTControlCharacters(stderr).trim().split('\n'))
    .slice(-5)
    .join('\n');
  if (code !== 0 && code !== LEAKS_EXIT_CODE) {
    return { kind: 'failed', reason: `gitleaks exited with code ${code}${tail ? `:\n${tail}` : ''}` };
  }
  if (errors.length) return { kind: 'failed', reason: `gitleaks logged errors:\n${tail}` };
  if (report === undefined) return { kind: 'failed', reason: 'gitleaks wrote no report' };
  return { kind: 'completed', report };
}
