/**
 * The order hosts switch in: the one that migrates first (the migration runs before any host
 * switches, so its batch cannot wait for another), then the others in the config's order, in
 * batches of `maxParallel`.
 */
export function planBatches<T extends { migrates: boolean }>(
  members: readonly T[],
  maxParallel: number,
): T[][] {
  if (!Number.isInteger(maxParallel) || maxParallel < 1)
    throw new Error(`max-parallel must be a whole number of at least 1, got ${maxParallel}`);
  const ordered = [...members.filter((m) => m.migrates), ...members.filter((m) => !m.migrates)];
  const batches: T[][] = [];
  for (let start = 0; start < ordered.length; start += maxParallel)
    batches.push(ordered.slice(start, start + maxParallel));
  return batches;
}
