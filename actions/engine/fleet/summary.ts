import type { MemberResult, MemberState, RolloutResult } from './rollout.js';

const STATE_TEXT: Record<MemberState, string> = {
  success: '✅ success',
  failed: '❌ failed',
  rolled_back: '↩️ rolled back',
  cancelled: '⏹️ stopped before switching',
  'not-started': '⏸️ not contacted',
};

/** One row per host for the job summary (no secrets: names, ids, timings and reasons). */
export function rolloutSummaryMarkdown(title: string, result: RolloutResult, configText?: string): string {
  const release = result.members.find((m) => m.outcome)?.outcome?.release;
  const head = [
    `### ${title}`,
    '',
    `**${result.status === 'success' ? '✅ success' : '❌ failed'}** on ${count(result.members, 'success')} of ${result.members.length} hosts` +
      (release ? ` · commit \`${release.sha}\` · app \`${release.appImage}\`` : ''),
    '',
    '| Host | Role | Batch | Status | Release | Duration | Reason |',
    '|---|---|---|---|---|---|---|',
    ...result.members.map(row),
  ];
  const config = configText
    ? [
        '',
        '<details><summary>Deploy config (resolved, without secrets)</summary>',
        '',
        configText,
        '',
        '</details>',
      ]
    : [];
  return `${[...head, ...config].join('\n')}\n`;
}

function row(member: MemberResult): string {
  const release = member.outcome?.release;
  const reason = reasonOf(member) ?? '';
  return `| ${member.name} (\`${member.host}\`) | ${member.role} | ${member.batch} | ${STATE_TEXT[member.state]} | ${release ? `\`${release.id}\`` : '—'} | ${release ? `${(release.durationMs / 1000).toFixed(1)} s` : '—'} | ${cell(reason)} |`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function count(members: MemberResult[], state: MemberState): number {
  return members.filter((m) => m.state === state).length;
}

/** The `hosts` output and notification: per host, what a later step needs (no secrets). */
export function rolloutHosts(result: RolloutResult) {
  return result.members.map((member) => ({
    name: member.name,
    role: member.role,
    host: member.host,
    batch: member.batch,
    status: member.state,
    releaseId: member.outcome?.release.id ?? null,
    durationMs: member.outcome?.release.durationMs ?? null,
    reason: reasonOf(member) ?? null,
  }));
}

/** Why a host did not succeed: its record's reason, else its failure; undefined for a success. */
function reasonOf(member: MemberResult): string | undefined {
  return member.outcome?.release.reason ?? (member.state === 'success' ? undefined : member.failure?.message);
}
