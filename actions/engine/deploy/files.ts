// The files deployer keeps in a deploy path on the host.
export const DEPLOY_FILES = {
  stateDir: '.deployer',
  paths(deployPath: string) {
    return {
      /** The compose file and env of the release that runs now. */
      compose: `${deployPath}/docker-compose.yml`,
      env: `${deployPath}/deploy.env`,
      /** The release being deployed; renamed over the two above once it is ready. */
      nextCompose: `${deployPath}/docker-compose.next.yml`,
      nextEnv: `${deployPath}/deploy.env.next`,
      previousEnv: `${deployPath}/deploy.env.previous`,
    };
  },
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Compose v1 and v2 read these the same way unquoted: no spaces, quotes, `#` or `$`.
const ENV_VALUE = /^[A-Za-z0-9_@%+=:,./-]*$/;

/** deploy.env: image references and other non-secret variables for Compose interpolation. */
export function deployEnvFile(values: Record<string, string>): string {
  const lines = Object.entries(values).map(([name, value]) => {
    if (!ENV_NAME.test(name))
      throw new Error(`deploy.env variable name ${JSON.stringify(name)} is not a valid name`);
    if (!ENV_VALUE.test(value)) {
      throw new Error(
        `deploy.env value of ${name} may only contain letters, digits and _@%+=:,./- (secrets belong in the host's env file)`,
      );
    }
    return `${name}=${value}`;
  });
  return `# Written by deployer; replaced on every deploy.\n${lines.join('\n')}\n`;
}
