// Local workflow harness: runs deployer's reusable workflows and starters on this machine
// (docs/workflows.md, "The local harness"). Entry points for the tests and the demo.
export { Harness, WorkflowError } from './workflow.mjs';
export { attestedStatement, recordedBy, startGitHubApi } from './github-api.mjs';
export { evaluate, interpolate, condition, splitTemplate, statusFunctions } from './expressions.mjs';
export { parseKeyValueFile, readWorkflowCommands, masker } from './commands.mjs';
export {
  DEPLOYER_REPOSITORY,
  createChain,
  demoStateFile,
  destroyChain,
  destroyEnvironment,
  destroyProxy,
  freePort,
  git,
  GIT_ENV,
  makeUserRepository,
  onHost,
  planChain,
  prepareEnvironment,
  sandboxSshArgs,
  projectName,
  readDemoState,
  readSandbox,
  repoRoot,
  runChain,
  startersOnSandbox,
} from './chain.mjs';
