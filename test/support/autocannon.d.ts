// The part of autocannon's API the load tests use (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface Histogram {
    average: number;
    max: number;
    min: number;
    p50: number;
    p90: number;
    p99: number;
  }
  interface Results {
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    duration: number;
    latency: Histogram;
    requests: Histogram & { total: number; sent: number };
    statusCodeStats: Record<string, { count: number }>;
  }
  type Client = EventEmitter;
  interface Options {
    url: string;
    connections?: number;
    overallRate?: number;
    amount?: number;
    duration?: number;
    timeout?: number;
    setupClient?: (client: Client) => void;
  }
  interface Instance extends EventEmitter {
    stop(): void;
  }
  function autocannon(options: Options, callback: (error: Error | null, results: Results) => void): Instance;
  export default autocannon;
  export type { Results, Options, Instance };
}
