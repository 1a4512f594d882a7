import type { ReleaseRecord } from '../state/release.js';

/** What is deployed: the images (pinned by digest), the commit and the files they run with. */
export interface ReleaseSpec {
  kind: ReleaseRecord['kind'];
  sha: string;
  appImage: string;
  migratorImage: string;
  runMigrations: boolean;
  /** The release's compose file; a rollback (`fromRelease`) reuses the files that release ran with. */
  composeFileContent?: string;
  fromRelease?: string;
  /** Swarm: the text of each file a top-level config of the compose file names, by config key. */
  configFiles?: Record<string, string>;
  /** Extra non-secret variables for deploy.env (e.g. APP_HOST_PORT). */
  deployEnv: Record<string, string>;
  promotedFrom?: ReleaseRecord['promotedFrom'];
  rolledBackTo?: string;
}
