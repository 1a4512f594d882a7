// Module hook: lets `import data from './x.json'` (no `with { type: 'json' }`) load on Node 20, as
// @actions/workflow-parser's dist does for its schema (it is written for bundlers).
// Register with `module.register('./lib/json-modules.mjs', import.meta.url)` before importing it.
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && url.endsWith('.json') && !context.importAttributes?.type) {
    const text = await readFile(new URL(url), 'utf8');
    return { format: 'module', source: `export default ${text};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
