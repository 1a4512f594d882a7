import type { Outcome, ReleaseResult } from './release.js';

const OUTCOME: Record<Outcome, string> = {
  pushed: 'pushed',
  'already-published': 'already in the registry (not pushed)',
  built: 'built locally (push: false)',
};

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text: string) => `\`${cell(text).replaceAll('`', "'")}\``;

const LISTED = 10;

function dirtyLines(plan: ReleaseResult['plan']): string[] {
  const { dirty } = plan;
  if (!dirty) return [];
  const count = dirty.changes.length;
  return [
    '> [!WARNING]',
    `> **Built from uncommitted changes** (\`allow-dirty: true\`): ${count} changed ${count === 1 ? 'path' : 'paths'}, content hash ${code(dirty.fingerprint)}. ` +
      `Tagged ${code(plan.tag)}, not the commit's own tag ${code(dirty.cleanTag)}.`,
    '',
    ...dirty.changes.slice(0, LISTED).map(({ path, what }) => `- ${code(path)} (${cell(what)})`),
    ...(count > LISTED ? [`- … and ${count - LISTED} more`] : []),
    '',
  ];
}

/** The job summary: both images, their digests and labels, as Markdown. */
export function renderSummary(result: ReleaseResult): string {
  const { plan } = result;
  const lines = [
    `### Release ${code(plan.tag)}`,
    '',
    `Commit ${code(plan.sha)}, committed ${code(plan.created.iso)} (from ${cell(plan.created.from)}).`,
    '',
    ...dirtyLines(plan),
    '| Image | Pinned reference | Digest | Result |',
    '| --- | --- | --- | --- |',
    ...result.images.map(
      (image) =>
        `| ${image.role} | ${code(image.pinned)} | ${code(image.digest)} | ${OUTCOME[image.outcome]}${image.note && image.outcome !== 'built' ? ` (${cell(image.note)})` : ''} |`,
    ),
    '',
  ];
  for (const image of result.images) {
    lines.push(
      `<details><summary>Labels of the ${image.role} image</summary>`,
      '',
      '| Label | Value |',
      '| --- | --- |',
      ...Object.entries(image.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => `| ${code(key)} | ${code(value)} |`),
      '',
      '</details>',
      '',
    );
  }
  return lines.join('\n');
}
