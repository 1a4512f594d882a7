import type { ConfigTarget, EnvironmentPlan, SettingOrigin } from './model.js';
import { maskedParts } from './settings.js';

/** Shorter values cannot be hidden without starring unrelated text (the log masks the same way). */
const MIN_HIDDEN_LENGTH = 4;
const HIDDEN = '***';

/**
 * A printable, secret-free description (markdown) of a resolved environment: per target its name,
 * role, host and settings. Secrets show as `from env NAME`; what the action would mask in the log
 * (header values, URL credentials) shows as ***.
 */
export function describeEnvironment(plan: EnvironmentPlan): string {
  const hostCount = new Set(plan.targets.map((target) => target.name)).size;
  const lines = [
    `### Deploy plan: ${plan.environment}`,
    '',
    `From \`${plan.file}\`: ${plural(plan.targets.length, 'target')} on ${plural(hostCount, 'host')}, ` +
      `at most ${plan.maxParallel} at a time; the migrator runs on ${plan.migrateOn}.`,
    ...plan.targets.flatMap((target) => ['', ...describeTarget(target)]),
  ];
  return `${hideSecretValues(lines.join('\n'), plan.targets)}\n`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function describeTarget(target: ConfigTarget): string[] {
  const rows = Object.keys(target.settings)
    .sort()
    .map((name) => `| ${name} | ${shownValue(target, name)} | ${shownOrigin(target.origin(name))} |`);
  return [
    `#### ${target.name} · ${target.role}${target.name === target.host ? '' : ` (${target.host})`}`,
    '',
    '| Setting | Value | Set at |',
    '| --- | --- | --- |',
    ...rows,
  ];
}

function shownValue(target: ConfigTarget, name: string): string {
  if (target.secretSettings.includes(name)) return `secret, from env ${target.origin(name)?.env ?? '?'}`;
  const value = target.settings[name] ?? '';
  if (!value.trim()) return "*empty: the action's default*";
  const hidden = maskedParts(name, value).reduce((text, part) => text.split(part).join(HIDDEN), value);
  return hidden.split(/\r?\n/).map(code).join('<br>');
}

function shownOrigin(origin: SettingOrigin | undefined): string {
  if (!origin) return '';
  return `${code(origin.key)} line ${origin.line}${origin.env ? `, env ${origin.env}` : ''}`;
}

/** A markdown code span that holds any text, table pipes included. */
function code(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const padded = text.startsWith('`') || text.endsWith('`') ? ` ${text} ` : text;
  return `${fence}${padded.replaceAll('|', '\\|')}${fence}`;
}

/** Secret values, and each of their lines, wherever they might appear (e.g. copied into another setting). */
function hideSecretValues(text: string, targets: readonly ConfigTarget[]): string {
  const secrets = targets.flatMap((target) =>
    target.secretSettings.flatMap((name) => {
      const value = target.settings[name] ?? '';
      return [value, ...value.split(/\r?\n/).map((line) => line.trim())];
    }),
  );
  return secrets
    .filter((secret) => secret.length >= MIN_HIDDEN_LENGTH)
    .sort((a, b) => b.length - a.length)
    .reduce((hidden, secret) => hidden.split(secret).join(HIDDEN), text);
}
