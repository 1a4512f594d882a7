// Types of scripts/lib/debian-mirror.mjs (plain JavaScript: scripts/sandbox runs it with the machine's Node).

export type IndexTarget = Record<string, string>;

export function parseIndexTargets(text: string): IndexTarget[];

export function pickDebianMirror(
  records: IndexTarget[],
  codename: string,
  lookedIn: string,
): { uri: string; entry: string } | { error: string };

export function withReleaseInfo(entries: IndexTarget[], entriesWithReleaseInfo: IndexTarget[]): IndexTarget[];
