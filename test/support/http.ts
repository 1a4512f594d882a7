/** One GET to a loopback URL; status and body, or the error's code. */
export async function get(
  url: string,
  { timeoutMs = 5000 }: { timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}

/** Polls until `predicate` holds or the deadline passes (polling on an observable condition, not sleeping). */
export async function eventually<T>(
  probe: () => Promise<T>,
  predicate: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (predicate(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `condition not met within ${timeoutMs} ms; last value ${JSON.stringify(last)} ${lastError ?? ''}`,
  );
}
