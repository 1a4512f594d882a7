// The bundles are ES modules, where CommonJS's __dirname and __filename do not exist. ssh2's WebAssembly
// poly1305 loader reads __dirname as soon as ssh2 loads; without it the load rejects and the action dies
// (and SSH's default chacha20-poly1305 cipher could not work). Imported before anything that loads ssh2.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const globals = globalThis as { __dirname?: string; __filename?: string };
const here = fileURLToPath(import.meta.url);
globals.__filename ??= here;
globals.__dirname ??= dirname(here);
