// The files deployer keeps in a deploy path on the host:
//   <deploy-path>/<env-file>                    the host's runtime settings and secrets (never read by deployer)
//   <deploy-path>/current -> .deployer/releases/<id>   the release that runs now
//   <deploy-path>/.deployer/releases/<id>/      one folder per release: docker-compose.yml, deploy.env and
//                                               the release's own copy of the env file (Compose's project folder)
//   <deploy-path>/.deployer/state.json, audit.log, lock
export const DEPLOY_FILES = {
  stateDir: '.deployer',
  paths(deployPath: string) {
    const stateDir = `${deployPath}/.deployer`;
    return {
      stateDir,
      lock: `${stateDir}/lock`,
      currentLink: `${deployPath}/current`,
      /** The temporary Docker config of one deploy's registry login. */
      loginDir: (token: string) => `${stateDir}/login.${token}`,
      releaseDir: (id: string) => `${stateDir}/releases/${id}`,
      /** How the current link names a release folder (relative, so the deploy path can move). */
      linkTarget: (id: string) => `.deployer/releases/${id}`,
      /** Wave 1 kept one compose file and deploy.env in the deploy path itself. */
      legacyCompose: `${deployPath}/docker-compose.yml`,
      legacyEnv: `${deployPath}/deploy.env`,
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
  return `# Written by deployer for this release.\n${lines.join('\n')}\n`;
}
