/** Facts about the workflow run, from the environment a runner provides. */
export function githubRun(env: NodeJS.ProcessEnv = process.env) {
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const repository = env.GITHUB_REPOSITORY ?? '';
  const runId = env.GITHUB_RUN_ID ?? 'local';
  return {
    sha: env.GITHUB_SHA ?? '',
    actor: env.GITHUB_ACTOR ?? 'unknown',
    repository,
    runId:
      env.GITHUB_RUN_ATTEMPT && env.GITHUB_RUN_ATTEMPT !== '1' ? `${runId}.${env.GITHUB_RUN_ATTEMPT}` : runId,
    runUrl:
      repository && env.GITHUB_RUN_ID
        ? `${server}/${repository}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined,
    eventName: env.GITHUB_EVENT_NAME ?? '',
    eventPath: env.GITHUB_EVENT_PATH,
    workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
  };
}
