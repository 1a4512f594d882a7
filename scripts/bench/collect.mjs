// Builds docs/BENCHMARKS.md from the per-action reports the benchmark scripts write to docs/benchmarks/.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../../docs/benchmarks/', import.meta.url).pathname;
const order = [
  'release-image',
  'deploy-staging',
  'ssh-command-cost',
  'verify-ready',
  'gitleaks-gate',
  'cold-start',
];
const names = readdirSync(dir)
  .filter((name) => name.endsWith('.md'))
  .map((name) => name.slice(0, -3))
  .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
const sections = names.map((name) =>
  readFileSync(join(dir, `${name}.md`), 'utf8')
    .trim()
    .replace(/^(#{2,}) /gm, '#$1 ')
    .replace(/^# /, '## '),
);
const text = `# Benchmarks

Measured by the scripts in \`scripts/bench/\` on this project's machine kind (2 vCPU, Node 24 for the
bundles), never by timing assertions in tests. Each script writes \`docs/benchmarks/<action>.md\`;
\`node scripts/bench/collect.mjs\` gathers them here.

${sections.join('\n\n').replace(/^## (.*) benchmarks?$/gim, '## $1')}
`;
writeFileSync(new URL('../../docs/BENCHMARKS.md', import.meta.url), text);
console.log(`docs/BENCHMARKS.md: ${names.join(', ')}`);
