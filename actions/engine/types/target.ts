/** Where a release goes: one environment's folder and Compose project on one host. */
export interface DeployTarget {
  environment: string;
  deployPath: string;
  projectName: string;
  /** The host's own env file in deploy-path (long-lived secrets), e.g. .env.production. */
  envFileName: string;
  services: {
    app: string;
    migrator: string;
    /** Databases, caches: ensured running, never recreated by a deploy. */
    accessories: string[];
  };
  composeCommand: 'auto' | 'docker compose' | 'docker-compose';
}

export interface RegistryCredentials {
  server: string;
  username: string;
  password: string;
}
