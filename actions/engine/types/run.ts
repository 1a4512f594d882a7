/** Who deploys, from which workflow run: written on the lock and in every release record. */
export interface RunIdentity {
  actor: string;
  /** `<run id>` or `<run id>.<attempt>` for a re-run. */
  runId: string;
  runUrl?: string;
}
