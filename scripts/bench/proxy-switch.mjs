// Benchmark: what a switch of the blue-green proxy costs the clients, two ways, alternately
// (reload, slot, reload, slot …): `reload` points the site at the other app container and reloads
// Caddy (`caddy reload` through the admin socket, what a config change through the admin API does);
// `slot` flips the live marker file that the site's `file` matcher reads per request (what
// deploy-staging does, docs/blue-green.md). Each run switches `--switches` times between two running
// containers of the example app under a steady load through the proxy and counts the failed requests.
// Writes docs/benchmarks/proxy-switch.md.
// Usage: node scripts/bench/proxy-switch.mjs [--rounds 3] [--switches 40] [--rate 200]
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { freePort, readSandbox, repoRoot as root } from '../harness/index.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    switches: { type: 'string', default: '40' },
    rate: { type: 'string', default: '200' },
  },
});
const rounds = Number(args.rounds);
const switches = Number(args.switches);
const rate = Number(args.rate);
execFileSync(join(root, 'scripts/sandbox'), ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
const sb = readSandbox();
const unique = `bench-switch-${process.pid}`;
const dir = `${sb.deployRoot}/${unique}`;
const image = `${unique}/hello:latest`;
const docker = (...argv) =>
  execFileSync('docker', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function cleanUp() {
  execFileSync('sh', [
    '-c',
    'docker rm -f "$1-proxy" "$1-blue" "$1-green" >/dev/null 2>&1; true',
    'sh',
    unique,
  ]);
  rmSync(dir, { recursive: true, force: true });
  execFileSync('sh', ['-c', 'docker image rm "$1" >/dev/null 2>&1; true', 'sh', image]);
}
process.on('exit', cleanUp);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const range = (values) => `${Math.min(...values)}–${Math.max(...values)}`;

async function main() {
  const address = await freePort();
  const [bluePort, greenPort] = [await freePort(), await freePort()];
  mkdirSync(`${dir}/sites`, { recursive: true });
  mkdirSync(`${dir}/live`, { recursive: true });
  writeFileSync(
    `${dir}/Caddyfile`,
    `{\n\tadmin unix/${dir}/admin.sock\n\tauto_https off\n}\nimport ${dir}/sites/*.caddy\n`,
  );
  execFileSync(
    'docker',
    ['buildx', 'build', join(root, 'examples/hello'), '--quiet', '--load', '--target', 'runner'].concat([
      '--build-arg',
      `BASE_IMAGE=${sb.baseImage}`,
      '--build-arg',
      'GIT_SHA=bench',
      '--tag',
      image,
    ]),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (const [slot, port] of [
    ['blue', bluePort],
    ['green', greenPort],
  ])
    docker(
      'run',
      '-d',
      '--name',
      `${unique}-${slot}`,
      '-e',
      'DATA_DIR=/tmp',
      '-p',
      `127.0.0.1:${port}:8080`,
      image,
    );
  // The ready answer needs the schema the migrator would apply.
  for (const slot of ['blue', 'green'])
    docker('exec', `${unique}-${slot}`, 'sh', '-c', 'echo 2 > /tmp/schema_version');
  docker(
    'run',
    '-d',
    '--name',
    `${unique}-proxy`,
    '--network',
    'host',
    '-v',
    `${dir}:${dir}`,
    sb.proxyImage,
    'caddy',
    'run',
    '--config',
    `${dir}/Caddyfile`,
    '--adapter',
    'caddyfile',
  );
  const upstream = (port) =>
    `reverse_proxy 127.0.0.1:${port} {\n\t\tlb_try_duration 5s\n\t\tlb_try_interval 100ms\n\t}`;
  const reloadSite = (port) => `http://:${address} {\n\t${upstream(port)}\n}\n`;
  const slotSite = `http://:${address} {\n\t@green file {\n\t\troot ${dir}/live\n\t\ttry_files bench.green\n\t}\n\thandle @green {\n\t\t${upstream(greenPort)}\n\t}\n\thandle {\n\t\t${upstream(bluePort)}\n\t}\n}\n`;
  const reload = () =>
    docker(
      'exec',
      `${unique}-proxy`,
      'caddy',
      'reload',
      '--config',
      `${dir}/Caddyfile`,
      '--adapter',
      'caddyfile',
      '--address',
      `unix/${dir}/admin.sock`,
    );
  const switchWays = {
    reload: {
      prepare: () => {
        writeFileSync(`${dir}/sites/bench.caddy`, reloadSite(bluePort));
        reload();
      },
      to: (slot) => {
        writeFileSync(`${dir}/sites/bench.caddy`, reloadSite(slot === 'green' ? greenPort : bluePort));
        reload();
      },
    },
    slot: {
      prepare: () => {
        rmSync(`${dir}/live/bench.green`, { force: true });
        writeFileSync(`${dir}/sites/bench.caddy`, slotSite);
        reload();
      },
      to: (slot) => {
        if (slot === 'green') writeFileSync(`${dir}/live/bench.green`, '');
        else rmSync(`${dir}/live/bench.green`, { force: true });
      },
    },
  };
  await waitForProxy(address, () => switchWays.reload.prepare());

  const results = [];
  for (let round = 1; round <= rounds; round++) {
    for (const way of ['reload', 'slot']) {
      switchWays[way].prepare();
      const load = loadavg()[0];
      const switchMs = [];
      const run = autocannon({
        url: `http://127.0.0.1:${address}/version`,
        connections: 20,
        overallRate: rate,
        duration: 3600,
        timeout: 10,
      });
      const done = new Promise((resolve) => run.on('done', resolve));
      await sleep(1000);
      for (let i = 0; i < switches; i++) {
        const began = process.hrtime.bigint();
        switchWays[way].to(i % 2 === 0 ? 'green' : 'blue');
        switchMs.push(Number(process.hrtime.bigint() - began) / 1e6);
        await sleep(500);
      }
      await sleep(1000);
      run.stop();
      const result = await done;
      const requests =
        Object.values(result.statusCodeStats ?? {}).reduce((sum, { count }) => sum + Number(count), 0) +
        result.errors;
      const row = {
        round,
        way,
        requests,
        failed: result.errors + result.non2xx,
        errors: result.errors,
        non2xx: result.non2xx,
        p50: result.latency.p50,
        p99: result.latency.p99,
        switchMs: median(switchMs),
        load: `${load.toFixed(2)} → ${loadavg()[0].toFixed(2)}`,
      };
      results.push(row);
      console.log(JSON.stringify(row));
    }
  }
  writeReport(results);
}

async function waitForProxy(port, prepare) {
  prepare();
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/version`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error('the proxy did not answer');
}

function writeReport(results) {
  const of = (way, key) => results.filter((row) => row.way === way).map((row) => row[key]);
  const summary = ['reload', 'slot'].map(
    (way) =>
      `| ${way} | ${median(of(way, 'requests'))} | ${median(of(way, 'failed'))} (${range(of(way, 'failed'))}) | ${median(of(way, 'p50'))} ms | ${median(of(way, 'p99'))} ms (${range(of(way, 'p99'))}) | ${median(of(way, 'switchMs')).toFixed(2)} ms |`,
  );
  const rows = results.map(
    (row) =>
      `| ${row.round} | ${row.way} | ${row.requests} | ${row.failed} (${row.errors} socket errors, ${row.non2xx} non-2xx) | ${row.p50} ms | ${row.p99} ms | ${row.switchMs.toFixed(2)} ms | ${row.load} |`,
  );
  const text = `# Proxy switch: reload against slot

\`node scripts/bench/proxy-switch.mjs --rounds ${rounds} --switches ${switches} --rate ${rate}\` on the sandbox
(${cpus().length} cores, Caddy from \`${sb.proxyImage}\`), ${new Date().toISOString().slice(0, 10)}.

Two containers of examples/hello run, on two loopback ports; the proxy (Caddy 2.6.2, host network) serves
them on a third. A load of ${rate} GET /version a second over 20 keep-alive connections (autocannon, 10 s
timeout) goes through the proxy while the proxy is switched ${switches} times between the two containers,
one switch every 0.5 s, each way in turn (reload, slot, reload, slot …):

- **reload**: the site file names the other container and \`caddy reload\` loads it through the admin
  socket (what any configuration change through Caddy's admin API does);
- **slot**: the site names both containers, and the live one is chosen per request by a \`file\` matcher on
  a marker file, which is created or removed (deploy-staging's \`strategy: blue-green\`).

Switch time is the time of the switching command itself, median of the run's switches (\`docker exec\`
for a reload, one file operation for a slot; deploy-staging's \`switch\` step adds the SSH round trip).
A request fails on a socket error, a timeout or a non-2xx answer. Load: 1-minute load average before →
after.

| way | requests (median) | failed requests, median (min–max) | p50 | p99 (min–max) | switch time |
|---|---|---|---|---|---|
${summary.join('\n')}

Every run:

| round | way | requests | failed | p50 | p99 | switch time | load |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

A reload restarts Caddy's HTTP servers, which closes every client connection that is idle at that
moment; a client that has just sent its next request on one gets a socket error (browsers and Go's
client retry such a request by themselves, many others do not). A slot switch changes no server.
`;
  writeFileSync(join(root, 'docs/benchmarks/proxy-switch.md'), text);
  console.log(text);
}

await main();
