/** A TCP port free on 127.0.0.1 right now (the kernel picks it). */
export { freePort } from '../../scripts/harness/index.mjs';
