// Bundles each action's entry (actions/<name>/index.ts) into <name>/dist/index.js with ncc.
// `--check` rebuilds into a temporary folder and fails when the committed dist/ differs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export const ACTIONS = ['release-image', 'deploy-staging', 'promote-prod', 'verify-ready', 'gitleaks-gate'];
const root = new URL('..', import.meta.url).pathname;
const check = process.argv.includes('--check');
// `npm run build -- verify-ready` builds only the named actions.
const only = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const selected = only.length ? ACTIONS.filter((action) => only.includes(action)) : ACTIONS;
const ncc = join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js');

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function build(action, outDir) {
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [
      ncc,
      'build',
      join(root, 'actions', action, 'index.ts'),
      '-o',
      outDir,
      '--minify',
      '--no-source-map-register',
      '--license',
      'licenses.txt',
      '--quiet',
      // Types are checked once by `npm run typecheck`; bundling only transpiles.
      '--transpile-only',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  // Some CommonJS dependencies (ssh2's poly1305 loader) read __dirname, which ESM output lacks.
  const entry = join(outDir, 'index.js');
  writeFileSync(entry, COMMONJS_GLOBALS + readFileSync(entry, 'utf8'));
}

const COMMONJS_GLOBALS =
  "import { fileURLToPath as __deployerFileURLToPath } from 'node:url';\n" +
  'const __filename = __deployerFileURLToPath(import.meta.url);\n' +
  "const __dirname = __deployerFileURLToPath(new URL('.', import.meta.url));\n";

let stale = [];
for (const action of selected) {
  const committed = join(root, action, 'dist');
  if (!check) {
    build(action, committed);
    const size = listFiles(committed).reduce((sum, file) => sum + statSync(file).size, 0);
    console.log(`${action}/dist: ${(size / 1024).toFixed(0)} KiB`);
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
