import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { runAction, type ActionRun } from './run-action.js';

/** An annotation (`::error` / `::warning`) gitleaks-gate wrote, its properties decoded. */
export interface Annotation {
  file?: string;
  line?: string;
  title?: string;
  message: string;
}

/** The gitleaks annotations among `::error::` or `::warning::` lines. */
export function gitleaksAnnotations(lines: string[]): Annotation[] {
  return lines
    .filter((line) => line.includes('title=gitleaks'))
    .map((line) => {
      const match = /^::(?:error|warning) (.*?)::(.*)$/.exec(line)!;
      const props = Object.fromEntries(
        match[1]!.split(',').map((pair) => {
          const eq = pair.indexOf('=');
          return [pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1))];
        }),
      );
      return { ...props, message: decodeURIComponent(match[2]!) };
    });
}

/**
 * Runs the gitleaks-gate bundle like a runner and checks that none of `secrets` reached anything a user
 * can read (log, outputs, summary, SARIF). The runner folders are kept (the SARIF is read after the run):
 * their paths are pushed to `keep` for removal.
 */
export async function runGitleaksGate(options: {
  binary: string;
  cwd: string;
  eventName: string;
  event: unknown;
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  secrets: readonly string[];
  keep: string[];
}): Promise<ActionRun> {
  const run = await runAction('gitleaks-gate', {
    cwd: options.cwd,
    eventName: options.eventName,
    event: options.event,
    inputs: { 'gitleaks-path': options.binary, ...options.inputs },
    env: options.env,
    keepWorkDir: true,
  });
  options.keep.push(run.workDir);
  for (const secret of options.secrets) {
    expect(run.everything).not.toContain(secret);
    if (run.outputs['sarif-path'])
      expect(readFileSync(run.outputs['sarif-path'], 'utf8')).not.toContain(secret);
  }
  return run;
}
