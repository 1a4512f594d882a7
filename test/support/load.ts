import autocannon, { type Results } from 'autocannon';

/** What a steady stream of requests met: every failure counted, latencies in ms. */
export interface LoadResult {
  requests: number;
  /** Socket errors, timeouts and non-2xx answers. */
  failed: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  seconds: number;
  /** How many answers each `"version"` in the body had (the example app's /version). */
  versions: Record<string, number>;
}

export interface Load {
  /**
   * Stops sending, waits for the answers in flight, and reports. With `atLeast`, it first goes on until
   * that many requests have had an answer or an error (a short run still gets a meaningful sample).
   */
  stop(options?: { atLeast?: number }): Promise<LoadResult>;
}

/**
 * A steady stream of GETs at `rate` requests per second over `connections` keep-alive connections,
 * until stopped. Each request that gets no 2xx answer (or no answer within `timeoutS`) is a failure.
 */
export function startLoad(
  url: string,
  {
    rate = 200,
    connections = 20,
    timeoutS = 10,
  }: { rate?: number; connections?: number; timeoutS?: number } = {},
): Load {
  const versions: Record<string, number> = {};
  let settled = 0;
  let onSettled = () => {};
  let finished!: (results: Results) => void;
  let failedToStart!: (error: Error) => void;
  const done = new Promise<Results>((resolve, reject) => {
    finished = resolve;
    failedToStart = reject;
  });
  const instance = autocannon(
    {
      url,
      connections,
      overallRate: rate,
      duration: 3600,
      timeout: timeoutS,
      setupClient: (client) => {
        const count = () => {
          settled += 1;
          onSettled();
        };
        for (const event of ['response', 'timeout', 'connError']) client.on(event, count);
        client.on('body', (body: Buffer) => {
          const version = /"version":"([^"]*)"/.exec(body.toString())?.[1] ?? '(none)';
          versions[version] = (versions[version] ?? 0) + 1;
        });
      },
    },
    (error, results) => (error ? failedToStart(error) : finished(results)),
  );
  return {
    async stop({ atLeast = 0 } = {}) {
      if (settled < atLeast)
        await new Promise<void>((resolve) => {
          onSettled = () => {
            if (settled >= atLeast) resolve();
          };
        });
      instance.stop();
      const results = await done;
      const statusCodes = Object.fromEntries(
        Object.entries(results.statusCodeStats ?? {}).map(([code, { count }]) => [code, Number(count)]),
      );
      const answered = Object.values(statusCodes).reduce((sum, count) => sum + count, 0);
      return {
        requests: answered + results.errors,
        failed: results.errors + results.non2xx,
        errors: results.errors,
        timeouts: results.timeouts,
        non2xx: results.non2xx,
        statusCodes,
        p50: results.latency.p50,
        p99: results.latency.p99,
        max: results.latency.max,
        seconds: results.duration,
        versions,
      };
    },
  };
}

/** Runs `act` while a steady stream of requests (see startLoad) goes to `url`; the load stops either way. */
export async function underLoad<T>(
  url: string,
  act: () => Promise<T>,
): Promise<{ run: T; load: LoadResult }> {
  const load = startLoad(url, { rate: 200 });
  const run = await act().catch(async (error: unknown) => {
    await load.stop();
    throw error;
  });
  return { run, load: await load.stop() };
}
