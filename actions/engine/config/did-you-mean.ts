const MAX_DISTANCE = 2;

/** ` (did you mean x?)` for the closest candidate at most two edits away, else ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance <= MAX_DISTANCE && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best ? ` (did you mean ${best.candidate}?)` : '';
}

/** Levenshtein distance: insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
