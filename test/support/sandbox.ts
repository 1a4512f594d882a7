import { execFileSync } from 'node:child_process';
import { readSandbox, type SandboxFacts } from '../../scripts/harness/index.mjs';
import { repoRoot } from './paths.js';

export type Sandbox = SandboxFacts;

let cached: Sandbox | undefined;

/** Brings the sandbox up (quick when it already is) and returns its connection facts. */
export function sandbox(): Sandbox {
  if (cached) return cached;
  execFileSync(`${repoRoot}/scripts/sandbox`, ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  cached = readSandbox();
  return cached;
}
