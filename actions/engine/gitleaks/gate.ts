// gitleaks-gate from inputs to verdict: install gitleaks, work out the commit range, run the scans,
// merge and filter the reports. The entry turns the result into annotations, summary and outputs.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { gitleaks, judgeRun, MERGE_DIFFS } from '../commands/gitleaks.js';
import type { Executor } from '../exec/executor.js';
import { input, InputError, type InputsOf } from '../inputs.js';
import { lineSplitter } from '../lines.js';
import type { Reporter } from '../reporter.js';
import { allowedByCommit, commitAllowlists } from './allowlist.js';
import { probeGitleaks } from './cli.js';
import { GitRepository } from './git.js';
import { prepareRange } from './history.js';
import { inlineAllows, type InlineAllow } from './inline-allows.js';
import { installGitleaks } from './install.js';
import { DEFAULT_DOWNLOAD_URL, DEFAULT_GITLEAKS_VERSION, expectedSha256, releaseAsset } from './release.js';
import {
  emptySarif,
  findingsOf,
  mergeSarif,
  parseSarif,
  withoutFindings,
  type Finding,
  type SarifLog,
} from './sarif.js';
import { SCAN_RANGE, scanScope } from './scope.js';
import { chooseSettings, IGNORE_FILE, type SettingsPaths } from './settings.js';

export const gateInputs = {
  version: input.matching(/^\d+\.\d+\.\d+$/, 'a gitleaks version such as 8.28.0', DEFAULT_GITLEAKS_VERSION),
  'gitleaks-path': input.optional(),
  'download-url': input.matching(/^https?:\/\/\S+$/, 'an http(s) URL', DEFAULT_DOWNLOAD_URL),
  'gitleaks-sha256': input.matching(/^[0-9a-fA-F]{64}$/, 'a sha256 of 64 hex digits'),
  'scan-mode': input.oneOf(['git', 'dir'], 'git'),
  'scan-range': input.matching(SCAN_RANGE, 'a revision or <rev>..<rev>, such as v1.0..HEAD'),
  config: input.optional(),
  baseline: input.optional(),
  'allow-config-changes': input.boolean(false),
  'repository-path': input.withDefault('.'),
  'sarif-path': input.optional(),
  remote: input.matching(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'a git remote name such as origin', 'origin'),
};

export type GateInputs = InputsOf<typeof gateInputs>;

export interface GateContext {
  eventName: string;
  payload: unknown;
  workspace: string;
  runnerTemp: string;
  platform: string;
  arch: string;
  executor: Executor;
  /** Where progress goes: the job log on a runner. */
  reporter: Reporter;
}

export interface GateResult {
  version: string;
  /** Where the config, .gitleaksignore and baseline were read from. */
  settingsOrigin: string;
  /** Settings files the pull request or merge queue changes. */
  settingsChanged: string[];
  /** Whether such changes are allowed (`allow-config-changes`); the gate fails on them otherwise. */
  settingsChangesAllowed: boolean;
  /** Lines the range adds with an inline `gitleaks:allow`. */
  inlineAllows: InlineAllow[];
  scope: string;
  logOpts?: string;
  commitsScanned: number;
  workingTree: boolean;
  findings: Finding[];
  allowlisted: number;
  sarifPath: string;
  /** Repository path relative to the workspace, for annotations. */
  repositoryPrefix: string;
  /** Set when gitleaks could not complete a scan: no verdict about secrets. */
  error?: string;
}

interface Plan {
  binary: () => Promise<string>;
  repo: string;
  /** Repository-relative paths of the settings files. */
  paths: SettingsPaths;
  /** The checkout's config file, when it has one. */
  config?: string;
  baseline?: string;
  sarifPath: string;
}

/** Checks every input against the filesystem and the pinned table before anything is fetched or run. */
export function planGate(inputs: GateInputs, ctx: GateContext): Plan {
  const repo = resolve(ctx.workspace, inputs['repository-path']);
  if (!existsSync(join(repo, '.git'))) {
    throw new InputError('repository-path', `expected a git checkout, found none at ${repo}`);
  }
  const config = inputs.config ? resolve(repo, inputs.config) : join(repo, '.gitleaks.toml');
  if (inputs.config && !isFile(config))
    throw new InputError('config', `expected a gitleaks config file, found none at ${config}`);
  const baseline = inputs.baseline ? resolve(repo, inputs.baseline) : undefined;
  if (baseline && !isFile(baseline))
    throw new InputError('baseline', `expected a gitleaks baseline report, found none at ${baseline}`);
  const sarifPath = resolve(
    ctx.workspace,
    inputs['sarif-path'] ?? join(ctx.runnerTemp, 'gitleaks-gate', 'results.sarif'),
  );
  const paths = {
    config: inside(repo, config, 'config'),
    ignore: IGNORE_FILE,
    baseline: baseline && inside(repo, baseline, 'baseline'),
  };
  const common = { repo, paths, config: isFile(config) ? config : undefined, baseline, sarifPath };
  const preinstalled = inputs['gitleaks-path'];
  if (preinstalled) {
    const path = resolve(ctx.workspace, preinstalled);
    if (!isFile(path))
      throw new InputError('gitleaks-path', `expected a gitleaks executable, found none at ${path}`);
    return { ...common, binary: async () => path };
  }
  const asset = releaseAsset(inputs.version, ctx.platform, ctx.arch, inputs['download-url']);
  const sha256 = expectedSha256(asset, inputs['gitleaks-sha256']);
  if (!sha256) {
    throw new InputError(
      'gitleaks-sha256',
      `is required for gitleaks ${inputs.version} on ${asset.target}: no checksum is pinned for it (or use gitleaks-path)`,
    );
  }
  return { ...common, binary: async () => (await installGitleaks(asset, sha256, ctx.reporter)).path };
}

export async function runGate(inputs: GateInputs, ctx: GateContext): Promise<GateResult> {
  const plan = planGate(inputs, ctx);
  const { reporter } = ctx;
  const scope = scanScope(ctx.eventName, ctx.payload, inputs['scan-range']);
  const binary = await plan.binary();
  const cli = await probeGitleaks(ctx.executor, binary);
  reporter.info(
    `gitleaks ${cli.label} at ${binary} (${cli.style === 'git' ? 'git/dir' : 'detect'} commands)`,
  );
  if (plan.baseline && !cli.flags.has('baseline-path')) {
    throw new InputError('baseline', `needs a gitleaks with --baseline-path; gitleaks ${cli.label} has none`);
  }

  const repo = new GitRepository(ctx.executor, plan.repo, inputs.remote);
  const range = await prepareRange(repo, scope, reporter);
  const mergeDiffs = await repo.showsMergeDiffs();
  if (!mergeDiffs) {
    reporter.warning(
      'git is older than 2.31 (no --diff-merges): what merge commits themselves change is not scanned',
    );
  }
  reporter.info(
    range
      ? `Scope: ${scope.description}: ${range.commits.length} commit(s), git log ${range.logOpts.join(' ')}`
      : `Scope: ${scope.description}: no commits to scan`,
  );

  mkdirSync(ctx.runnerTemp, { recursive: true });
  const work = mkdtempSync(join(ctx.runnerTemp, 'gitleaks-gate-'));
  const allowChanges = inputs['allow-config-changes'];
  const fromBase =
    scope.kind === 'commits' && scope.settingsFromBase === true && range?.base && range.head
      ? { base: range.base, head: range.head }
      : undefined;
  const { settings, changed: settingsChanged } = await chooseSettings(repo, plan, {
    fromBase,
    allowChanges,
    work,
  });
  reporter.info(`Settings (config, ${IGNORE_FILE}, baseline) from ${settings.origin}`);
  if (settings.config) reporter.info(`Config: ${settings.config}`);

  const result: GateResult = {
    version: cli.label,
    settingsOrigin: settings.origin,
    settingsChanged,
    settingsChangesAllowed: allowChanges,
    inlineAllows:
      range && range.commits.length > 0 && scope.kind !== 'all'
        ? inlineAllows(
            await repo.patchLog([...(mergeDiffs ? [MERGE_DIFFS] : []), '-Ggitleaks:allow', ...range.logOpts]),
          )
        : [],
    scope: scope.description,
    logOpts: range?.logOpts.join(' '),
    commitsScanned: range?.commits.length ?? 0,
    workingTree: inputs['scan-mode'] === 'dir',
    findings: [],
    allowlisted: 0,
    sarifPath: plan.sarifPath,
    repositoryPrefix: relative(ctx.workspace, plan.repo).split('\\').join('/'),
  };
  const reports: SarifLog[] = [];
  // A clean run of gitleaks 8.0 to 8.2.2 writes no report: it stands for an empty one.
  const ifNoReport = cli.silentWhenClean ? JSON.stringify(emptySarif(cli.version ?? 'unknown')) : undefined;
  const scans: { name: string; argv: string[]; reportPath: string; cwd: string }[] = [];
  if (range && range.commits.length > 0) {
    const reportPath = join(work, 'git.sarif');
    const command = {
      binary,
      cli,
      source: settings.source,
      config: settings.config,
      baseline: settings.baseline,
    };
    scans.push({
      name: 'git',
      reportPath,
      cwd: settings.source,
      argv: gitleaks.gitScan({ ...command, reportPath, logOpts: range.logOpts, mergeDiffs }),
    });
  }
  if (result.workingTree) {
    const reportPath = join(work, 'dir.sarif');
    const command = { binary, cli, source: '.', config: settings.config, baseline: settings.baseline };
    scans.push({
      name: 'dir',
      reportPath,
      cwd: plan.repo,
      argv: gitleaks.dirScan({ ...command, reportPath }),
    });
  }
  for (const scan of scans) {
    const outcome = await runScan(ctx.executor, reporter, scan.argv, scan.reportPath, scan.cwd, ifNoReport);
    if (outcome.kind === 'failed') return { ...result, error: `${scan.name} scan: ${outcome.reason}` };
    try {
      reports.push(parseSarif(outcome.report));
    } catch (error) {
      return { ...result, error: `${scan.name} scan: ${(error as Error).message}` };
    }
  }

  let merged = reports.length ? mergeSarif(reports) : emptySarif(cli.version ?? 'unknown');
  const allowlists = settings.configText ? commitAllowlists(settings.configText) : [];
  const before = findingsOf(merged).length;
  merged = withoutFindings(merged, (finding) => allowedByCommit(finding, allowlists));
  result.findings = findingsOf(merged);
  result.allowlisted = before - result.findings.length;
  mkdirSync(dirname(plan.sarifPath), { recursive: true });
  writeFileSync(plan.sarifPath, `${JSON.stringify(merged, null, 2)}\n`);
  return result;
}

async function runScan(
  executor: Executor,
  reporter: Reporter,
  argv: string[],
  reportPath: string,
  cwd: string,
  ifCleanWithoutReport: string | undefined,
) {
  const log = (line: string) => reporter.info(`[gitleaks] ${line}`);
  const stdout = streamLines(log);
  const stderr = streamLines(log);
  const run = await executor.run(argv, { cwd, check: false, onStdout: stdout.push, onStderr: stderr.push });
  stdout.flush();
  stderr.flush();
  const report = existsSync(reportPath)
    ? readFileSync(reportPath, 'utf8')
    : run.code === 0
      ? ifCleanWithoutReport
      : undefined;
  return judgeRun(run.code, run.stderr, report);
}

/** Non-blank lines of a chunked stream, without terminal colours; `flush` emits a last line without newline. */
export function streamLines(emit: (line: string) => void): { push(chunk: string): void; flush(): void } {
  return lineSplitter((line) => {
    if (line.trim()) emit(stripVTControlCharacters(line));
  });
}

/** `path` relative to the repository, for reading it from another commit; refused outside it. */
function inside(repo: string, path: string, name: string): string {
  const rel = relative(repo, path).split('\\').join('/');
  if (rel.startsWith('../') || rel === '..' || isAbsolute(rel)) {
    throw new InputError(name, `expected a path inside the repository, got ${path}`);
  }
  return rel;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}
