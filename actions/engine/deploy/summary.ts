import type { DeployOutcome } from './deploy.js';
import type { ReleaseRecord } from '../state/release.js';

const STATUS_ICON: Record<ReleaseRecord['status'], string> = {
  success: '✅ success',
  failed: '❌ failed',
  rolled_back: '↩️ rolled back',
  cancelled: '⏹️ cancelled',
};

function switchOf(release: ReleaseRecord): string {
  if (release.strategy === 'blue-green')
    return `blue-green${release.container ? ` (container \`${release.container}\`)` : ''}`;
  if (release.strategy === 'swarm')
    return `Swarm stack \`${release.projectName ?? ''}\` (start-first update)`;
  return 'recreate';
}

/** The job summary of a deploy (no secrets: only references, ids and timings). */
export function deploySummaryMarkdown(title: string, outcome: DeployOutcome, url?: string): string {
  const { release, previous, steps } = outcome;
  const rows = [
    ['Status', STATUS_ICON[release.status]],
    ['Environment', release.environment],
    ['Release', `\`${release.id}\``],
    ['Commit', `\`${release.sha}\``],
    ['App image', `\`${release.appImage}\``],
    ['Migrator image', `\`${release.migratorImage}\``],
    ['Migrations', release.migrated ? 'ran' : 'not run'],
    ['Switch', switchOf(release)],
    ...Object.entries(release.services ?? {}).map(([service, image]) => [
      `Service \`${service}\``,
      `\`${image}\``,
    ]),
    ['Previous release', previous ? `\`${previous.id}\` (${previous.sha.slice(0, 12)})` : '—'],
    ...(release.promotedFrom
      ? [['Promoted from', `${release.promotedFrom.environment} \`${release.promotedFrom.releaseId}\``]]
      : []),
    ['Host', release.host],
    ['Duration', `${(release.durationMs / 1000).toFixed(1)} s`],
    ...(url ? [['URL', url]] : []),
    ...(release.reason ? [['Reason', release.reason.replace(/\|/g, '\\|')]] : []),
  ];
  const table = ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
  const timings = [
    '| Step | Time |',
    '|---|---|',
    ...steps.map((s) => `| ${s.step} | ${(s.ms / 1000).toFixed(2)} s |`),
  ].join('\n');
  const logs = release.logTail
    ? `\n\n<details><summary>Last log lines of the failing app</summary>\n\n\`\`\`\n${release.logTail}\n\`\`\`\n</details>`
    : '';
  return `### ${title}\n\n${table}\n\n${timings}${logs}\n`;
}
