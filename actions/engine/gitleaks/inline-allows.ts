// Lines a range adds with an inline `gitleaks:allow` comment: gitleaks skips them silently, so the summary
// lists where they are (never what they say: such a line usually holds the secret). No I/O here.

export interface InlineAllow {
  commit: string;
  file: string;
  line: number;
}

const COMMIT = /^commit ([0-9a-f]{40,64})\b/;
// git ends a path holding a space with a tab, so that the line reads unambiguously.
const NEW_FILE = /^\+\+\+ (?:b\/(.*?)\t?|\/dev\/null)$/;
const HUNK = /^@@+ (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@+/;

/** Parses `git log -p -U0` output (default format) for added lines containing `gitleaks:allow`. */
export function inlineAllows(log: string): InlineAllow[] {
  const found: InlineAllow[] = [];
  let commit = '';
  let file: string | undefined;
  let next = 0;
  for (const line of log.split('\n')) {
    const commitMatch = COMMIT.exec(line);
    if (commitMatch) {
      commit = commitMatch[1]!;
      file = undefined;
      continue;
    }
    const fileMatch = NEW_FILE.exec(line);
    if (fileMatch) {
      file = fileMatch[1];
      continue;
    }
    const hunk = HUNK.exec(line);
    if (hunk) {
      next = Number(hunk[1]);
      continue;
    }
    if (file === undefined || line.startsWith('+++')) continue;
    if (line.startsWith('+')) {
      if (line.includes('gitleaks:allow')) found.push({ commit, file, line: next });
      next++;
    }
  }
  return found;
}
