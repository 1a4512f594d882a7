// Bundles each action's entry (actions/<name>/index.ts) into <name>/dist/ with ncc: bundle.js, a chunk
// per dynamic import() (<id>.index.js, loaded when first needed) and index.js, a small loader that turns
// Node's compile cache on before it imports bundle.js (action.yml's `main`).
// `--check` rebuilds into a temporary folder and fails when the committed dist/ differs.
// `--out-dir <dir>` writes <dir>/<action>/dist/ (with a copy of action.yml beside it) instead of the
// committed folders, e.g. to benchmark or test a build while the committed one stays untouched.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const ACTIONS = ['release-image', 'deploy-staging', 'promote-prod', 'verify-ready', 'gitleaks-gate'];
const root = new URL('..', import.meta.url).pathname;
const { values: options, positionals: only } = parseArgs({
  options: { check: { type: 'boolean', default: false }, 'out-dir': { type: 'string' } },
  allowPositionals: true,
  // Unknown flags are ignored, as before.
  strict: false,
});
const check = options.check === true;
if (options['out-dir'] === true) throw new Error('--out-dir needs a folder');
const outDir = options['out-dir'] && resolve(options['out-dir']);
if (check && outDir) throw new Error('--check and --out-dir do not go together');
// `npm run build -- verify-ready` builds only the named actions.
const selected = only.length ? ACTIONS.filter((action) => only.includes(action)) : ACTIONS;
const ncc = join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js');

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function build(action, into) {
  rmSync(into, { recursive: true, force: true });
  const statsDir = mkdtempSync(join(tmpdir(), 'deployer-stats-'));
  const statsFile = join(statsDir, 'stats.json');
  execFileSync(
    process.execPath,
    [
      ncc,
      'build',
      join(root, 'actions', action, 'index.ts'),
      '-o',
      into,
      '--minify',
      '--no-source-map-register',
      '--stats-out',
      statsFile,
      '--quiet',
      // Types are checked once by `npm run typecheck`; bundling only transpiles.
      '--transpile-only',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  // ncc writes the bundle to index.js and each dynamic import() to a chunk beside it (<id>.index.js).
  // Some CommonJS dependencies (ssh2's poly1305 loader) read __dirname, which ESM output lacks.
  for (const name of readdirSync(into).filter((file) => file.endsWith('.js'))) {
    const file = join(into, name);
    const code = readFileSync(file, 'utf8');
    if (/\b__(dirname|filename)\b/.test(code)) writeFileSync(file, COMMONJS_GLOBALS + code);
  }
  writeLicenses(into, statsFile);
  rmSync(statsDir, { recursive: true, force: true });
  // index.js becomes a loader that turns Node's compile cache on before the bundle is compiled.
  renameSync(join(into, 'index.js'), join(into, BUNDLE));
  writeFileSync(join(into, 'index.js'), LOADER);
}

const COMMONJS_GLOBALS =
  "import { fileURLToPath as __deployerFileURLToPath } from 'node:url';\n" +
  'const __filename = __deployerFileURLToPath(import.meta.url);\n' +
  "const __dirname = __deployerFileURLToPath(new URL('.', import.meta.url));\n";

const BUNDLE = 'bundle.js';

/**
 * licenses.txt for every package in the bundle and its chunks. ncc's license plugin writes one file per
 * chunk and, for a chunk split off at import(), leaves out packages concatenated into another's module
 * (sb-scandir in node-ssh's); so the list comes from webpack's stats and is rendered as the plugin
 * renders it: `name\nlicense\ntext` blocks sorted by name, a blank line between them.
 */
function writeLicenses(dir, statsFile) {
  const stats = JSON.parse(readFileSync(statsFile, 'utf8'));
  const packageDirs = new Set();
  for (const module of stats.modules.flatMap((m) => m.modules ?? [m])) {
    const path = module.name.slice(module.name.lastIndexOf('!') + 1);
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (match) packageDirs.add(resolve(root, match[1]));
  }
  const blocks = [...packageDirs].map((packageDir) => {
    const meta = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    const declared = meta.license ?? meta.licenses?.[0];
    const license = typeof declared === 'string' ? declared : declared?.type;
    const file = readdirSync(packageDir).find(
      (name) => /^licen[cs]e/i.test(name) && !statSync(join(packageDir, name)).isDirectory(),
    );
    const text = file && readFileSync(join(packageDir, file), 'utf8').replace(/\r\n/g, '\n');
    return { name: meta.name, text: [meta.name, license, text].filter(Boolean).join('\n') };
  });
  blocks.sort((a, b) => (a.name < b.name ? -1 : 1));
  writeFileSync(
    join(dir, 'licenses.txt'),
    `${blocks
      .map((block) => `${block.text}\n\n`)
      .join('')
      .trim()}\n`,
  );
}

// With a warm compile cache V8 deserializes the code an earlier run compiled instead of parsing the
// bundle again: 10-35 ms less per start here; the first run, which writes the cache at exit, pays
// 2-8 ms (docs/benchmarks/cold-start.md). So only where a later run can find it: the runner's tool
// cache, kept between jobs on self-hosted runners; not on GitHub-hosted ones (a fresh machine per job)
// and not in RUNNER_TEMP (emptied after each job). Node keys entries by Node version, user, file and
// content, writes them 0600, and compiles normally when one does not fit or is damaged;
// enableCompileCache reports failures instead of throwing. Node's own recursive mkdir spins forever
// where mkdir answers ENOENT under an existing parent (/proc, a dangling symlink), so the loader makes
// the folders itself with plain mkdirs and goes on only if a directory is there. Node 20 has no
// enableCompileCache: it just loads the bundle.
const LOADER = `// Generated by scripts/build.mjs: runs ${BUNDLE}, with Node's compile cache in the tool cache of
// a self-hosted runner (see build.mjs).
import { mkdirSync, statSync } from 'node:fs';
import module from 'node:module';
const cacheRoot = process.env.RUNNER_TOOL_CACHE;
const hosted = process.env.RUNNER_ENVIRONMENT === 'github-hosted';
if (cacheRoot && !hosted && typeof module.enableCompileCache === 'function') {
  const dir = cacheRoot + '/deployer-compile-cache';
  for (const folder of [cacheRoot, dir]) {
    try {
      mkdirSync(folder);
    } catch {
      // There already, or impossible: the check below tells.
    }
  }
  try {
    if (statSync(dir).isDirectory()) module.enableCompileCache(dir);
  } catch {
    // Start without the cache.
  }
}
await import('./${BUNDLE}');
`;

let stale = [];
for (const action of selected) {
  const committed = join(root, action, 'dist');
  if (!check) {
    const target = outDir ? join(outDir, action, 'dist') : committed;
    build(action, target);
    if (outDir) copyFileSync(join(root, action, 'action.yml'), join(outDir, action, 'action.yml'));
    const size = listFiles(target).reduce((sum, file) => sum + statSync(file).size, 0);
    console.log(`${relative(outDir ?? root, target)}: ${(size / 1024).toFixed(0)} KiB`);
    continue;
  }
  const fresh = mkdtempSync(join(tmpdir(), `deployer-dist-${action}-`));
  build(action, fresh);
  const names = new Set([
    ...listFiles(committed).map((f) => relative(committed, f)),
    ...listFiles(fresh).map((f) => relative(fresh, f)),
  ]);
  for (const name of names) {
    const a = join(committed, name);
    const b = join(fresh, name);
    if (!existsSync(a) || !existsSync(b) || !readFileSync(a).equals(readFileSync(b)))
      stale.push(`${action}/dist/${name}`);
  }
  rmSync(fresh, { recursive: true, force: true });
}
if (check) {
  if (stale.length) {
    console.error(`dist/ is stale; run \`npm run build\` and commit. Differs: ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log('dist/ is up to date');
}
