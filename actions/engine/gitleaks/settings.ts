// Which gitleaks settings a history scan uses. For pull requests and merge queues they come from the base
// commit: the pull request under scan must not be able to switch off the scan of its own secret by
// changing .gitleaks.toml, .gitleaksignore or the baseline. gitleaks reads .gitleaksignore (and, without
// --config, .gitleaks.toml) from its source folder and its working directory, so a trusted scan runs in a
// folder of its own: a `.git` file pointing at the repository (git log works there) plus the base's files.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GitRepository } from './git.js';

/** Repository-relative paths of the files that steer gitleaks. */
export interface SettingsPaths {
  config: string;
  ignore: string;
  baseline?: string;
}

export const IGNORE_FILE = '.gitleaksignore';

export interface ScanSettings {
  /** Where they were read from, for the log and summary. */
  origin: string;
  /** Where gitleaks runs and what it scans (`git -C <source> log`). */
  source: string;
  config?: string;
  /** The config's text, for the commit allowlists gitleaks itself skips. */
  configText?: string;
  baseline?: string;
}

/** The checkout's own files, as gitleaks finds them (push, schedule, or `allow-config-changes`). */
export function checkoutSettings(checkout: {
  repo: string;
  config?: string;
  baseline?: string;
}): ScanSettings {
  return {
    origin: 'the checkout',
    source: checkout.repo,
    config: checkout.config,
    configText: checkout.config ? readFileSync(checkout.config, 'utf8') : undefined,
    baseline: checkout.baseline,
  };
}

/**
 * The settings a scan uses and the settings files the scanned changes modify: the base commit's when the
 * changes must not steer the scan (`fromBase`: pull requests, merge queues) unless they may
 * (`allowChanges`), else the checkout's.
 */
export async function chooseSettings(
  repo: GitRepository,
  checkout: { repo: string; paths: SettingsPaths; config?: string; baseline?: string },
  options: { fromBase?: { base: string; head: string }; allowChanges: boolean; work: string },
): Promise<{ settings: ScanSettings; changed: string[] }> {
  const { fromBase } = options;
  if (!fromBase) return { settings: checkoutSettings(checkout), changed: [] };
  const changed = await changedSettings(repo, checkout.paths, fromBase);
  const settings = options.allowChanges
    ? checkoutSettings(checkout)
    : await baseSettings(repo, checkout.paths, fromBase.base, options.work);
  return { settings, changed };
}

/** The settings of `base`, written under `work`; a file the base lacks means gitleaks' default. */
export async function baseSettings(
  repo: GitRepository,
  paths: SettingsPaths,
  base: string,
  work: string,
): Promise<ScanSettings> {
  const source = join(work, 'base-settings');
  mkdirSync(source, { recursive: true });
  writeFileSync(join(source, '.git'), `gitdir: ${await repo.gitDir()}\n`);
  const configText = await repo.fileAt(base, paths.config);
  let config: string | undefined;
  if (configText !== undefined) {
    config = join(work, 'base-gitleaks.toml');
    writeFileSync(config, configText);
  }
  const ignoreText = await repo.fileAt(base, paths.ignore);
  if (ignoreText !== undefined) writeFileSync(join(source, IGNORE_FILE), ignoreText);
  let baseline: string | undefined;
  const baselineText = paths.baseline ? await repo.fileAt(base, paths.baseline) : undefined;
  if (baselineText !== undefined) {
    baseline = join(work, 'base-baseline.json');
    writeFileSync(baseline, baselineText);
  }
  return { origin: `the base commit ${base.slice(0, 7)}`, source, config, configText, baseline };
}

/** Which settings files the changes between the fork point of `base` and `head` modify. */
export async function changedSettings(
  repo: GitRepository,
  paths: SettingsPaths,
  range: { base: string; head: string },
): Promise<string[]> {
  const forkPoint = (await repo.mergeBase(range.base, range.head)) ?? range.base;
  const watched = [paths.config, paths.ignore, ...(paths.baseline ? [paths.baseline] : [])];
  return repo.changedPaths(forkPoint, range.head, watched);
}
