/** The run was cancelled (SIGINT/SIGTERM): the deploy undoes what it switched and unlocks. */
export class CancelledError extends Error {
  constructor() {
    super('the run was cancelled');
  }
}
