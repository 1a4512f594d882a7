/**
 * A cancelled GitHub run sends SIGINT, then SIGTERM 7.5 s later, then SIGKILL 2.5 s after that.
 * Aborting this signal lets the engine finish or undo the step in progress and release its lock in time.
 */
export function cancellationSignal(onCancel?: (signal: NodeJS.Signals) => void): AbortSignal {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) onCancel?.(signal);
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return controller.signal;
}
