// Benchmark: what one remote command costs over one ssh2 connection to the sandbox sshd, comparing
// `exec` per command with one persistent remote `sh`, each with Nagle on (ssh2's default) and with
// TCP_NODELAY set before the handshake. Writes docs/benchmarks/ssh-command-cost.md (or --out).
// Usage: node scripts/bench/ssh-command-cost.mjs [--rounds 5] [--commands 30] [--out <file>]
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ssh2 from 'ssh2';

const root = new URL('../..', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    commands: { type: 'string', default: '30' },
    out: { type: 'string', default: join(root, 'docs/benchmarks/ssh-command-cost.md') },
  },
});
const [rounds, commands] = ['rounds', 'commands'].map((name) => {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
});
const WARM_UP = 3;
const COMMAND_TIMEOUT_MS = 10_000;

execFileSync(join(root, 'scripts/sandbox'), ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
const sb = Object.fromEntries(
  execFileSync(join(root, 'scripts/sandbox'), ['env'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
const privateKey = readFileSync(sb.SANDBOX_SSH_KEY_PATH, 'utf8');
const port = Number(sb.SANDBOX_SSH_PORT);

// The same form `ssh-keygen -lf` prints: SHA256 of the key blob, base64 without padding.
const fingerprint = (blob) =>
  `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

async function connect(noDelay) {
  let sock;
  if (noDelay) {
    // ssh2 never sets TCP_NODELAY itself; setting it on our own socket covers the handshake too.
    sock = tcpConnect({ host: sb.SANDBOX_SSH_HOST, port, noDelay: true });
    await once(sock, 'connect');
  }
  const client = new ssh2.Client();
  await new Promise((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({
      host: sb.SANDBOX_SSH_HOST,
      port,
      sock,
      username: sb.SANDBOX_SSH_USER,
      privateKey,
      hostVerifier: (key) => fingerprint(key) === sb.SANDBOX_SSH_HOST_FINGERPRINT,
    });
  });
  client.on('error', (error) => (client.failure = error));
  client.closed = new Promise((resolve) => client.once('close', resolve));
  return client;
}

const withTimeout = (promise, what) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: no answer in ${COMMAND_TIMEOUT_MS} ms`)),
      COMMAND_TIMEOUT_MS,
    );
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });

const openChannel = (client, command) =>
  new Promise((resolve, reject) =>
    client.exec(command, (error, stream) => (error ? reject(error) : resolve(stream))),
  );

// One `exec('true')` per command: a new channel each time, done when the channel closes.
function execRunner(client) {
  const run = async () => {
    const stream = await openChannel(client, 'true');
    let code;
    stream.on('exit', (exitCode) => (code = exitCode)).resume();
    stream.stderr.resume();
    await once(stream, 'close');
    if (code !== 0)
      throw new Error(`exec true: exit ${code}${client.failure ? ` (${client.failure.message})` : ''}`);
  };
  return { run, close: async () => {} };
}

// One remote `sh` for the whole connection; each command ends with a marker line carrying its status.
async function shellRunner(client) {
  const stream = await openChannel(client, 'sh');
  const marker = `BENCH_${randomBytes(8).toString('hex')}`;
  const done = new RegExp(`\\n${marker} (\\d+)\\n`);
  let buffer = '';
  let pending;
  stream.stderr.resume();
  stream.on('data', (chunk) => {
    buffer += chunk;
    const match = buffer.match(done);
    if (!match || !pending) return;
    buffer = buffer.slice(match.index + match[0].length);
    const { resolve, reject } = pending;
    pending = undefined;
    if (match[1] === '0') resolve();
    else reject(new Error(`shell true: exit ${match[1]}`));
  });
  stream.on('close', () => pending?.reject(new Error('remote sh closed')));
  const run = () =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      stream.write(`true; printf '\\n%s %s\\n' ${marker} $?\n`);
    });
  const close = async () => {
    const closed = once(stream, 'close');
    stream.end('exit\n');
    await closed;
  };
  return { run, close };
}

const variants = [
  { name: "`exec('true')` per command, Nagle on", noDelay: false, runner: execRunner },
  { name: 'persistent `sh`, Nagle on', noDelay: false, runner: shellRunner },
  { name: "`exec('true')` per command, TCP_NODELAY", noDelay: true, runner: execRunner },
  { name: 'persistent `sh`, TCP_NODELAY', noDelay: true, runner: shellRunner },
].map((variant) => ({ ...variant, samples: [] }));

async function measure(variant) {
  const client = await connect(variant.noDelay);
  try {
    const runner = await variant.runner(client);
    for (let i = 0; i < WARM_UP + commands; i++) {
      const started = performance.now();
      await withTimeout(runner.run(), variant.name);
      if (i >= WARM_UP) variant.samples.push(performance.now() - started);
    }
    await runner.close();
  } finally {
    client.end();
    await client.closed;
  }
}

const loadBefore = loadavg();
for (let round = 1; round <= rounds; round++) {
  for (const variant of variants) await measure(variant);
  process.stderr.write(`round ${round}/${rounds} done\n`);
}
const loadAfter = loadavg();

// Nearest-rank quantiles.
const quantile = (values, q) =>
  [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * values.length) - 1)];
// One decimal below 10 ms (so sub-ms values stay readable), whole milliseconds above.
const ms = (value) => `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ms`;

const header = ['variant', 'median', 'p90', 'min', 'max', 'n'];
const rows = variants.map(({ name, samples }) => [
  name,
  ms(quantile(samples, 0.5)),
  ms(quantile(samples, 0.9)),
  ms(Math.min(...samples)),
  ms(Math.max(...samples)),
  String(samples.length),
]);
const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
const line = (cells) =>
  `| ${cells.map((cell, i) => (i ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join(' | ')} |`;
const separator = `| ${widths.map((w, i) => (i ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
const load = (values) => values.map((value) => value.toFixed(2)).join(' / ');
const command = ['node', 'scripts/bench/ssh-command-cost.mjs', ...process.argv.slice(2)].join(' ');
const ssh2Version = JSON.parse(readFileSync(join(root, 'node_modules/ssh2/package.json'), 'utf8')).version;

const report = `# ssh-command-cost benchmark

Latency of one remote command (\`true\`) over one already-open ssh2 ${ssh2Version} connection to the sandbox sshd
(${sb.SANDBOX_SSH_HOST}:${port}, loopback), measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0].model}, Node ${process.version}.
Each variant gets a fresh connection per round; rounds run the variants in turn (${rounds} rounds, ${WARM_UP} warm-up
commands then ${commands} measured ones per variant and round). "Persistent \`sh\`" writes
\`true; printf '\\n%s %s\\n' MARKER $?\` to one remote shell's stdin and waits for the marker line; "TCP_NODELAY"
is set on the socket before the SSH handshake. Load average (1 / 5 / 15 min): ${load(loadBefore)} before, ${load(loadAfter)} after.

${line(header)}
${separator}
${rows.map(line).join('\n')}

### Reproduce

\`\`\`sh
${command}
\`\`\`
`;
const out = resolve(args.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, report);
console.log(report);
