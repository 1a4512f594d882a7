// Types of github-api.mjs, the loopback stand-in for GitHub's REST API (tests, harness and demo).

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization?: string;
  operationId?: string;
  /** The status the mock answered with. */
  status?: number;
}
export type DeploymentState =
  'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';
export type CommitState = 'error' | 'failure' | 'pending' | 'success';
/** The user GITHUB_TOKEN acts as. */
export type Actor = ReturnType<typeof actor>;
export interface Deployment {
  url: string;
  id: number;
  node_id: string;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  original_environment: string;
  environment: string;
  description: string | null;
  creator: Actor;
  created_at: string;
  updated_at: string;
  statuses_url: string;
  repository_url: string;
  transient_environment: boolean;
  production_environment: boolean;
  performed_via_github_app: null;
}
export interface DeploymentStatus {
  url: string;
  id: number;
  node_id: string;
  state: DeploymentState;
  creator: Actor;
  description: string;
  environment: string;
  target_url: string;
  created_at: string;
  updated_at: string;
  deployment_url: string;
  repository_url: string;
  environment_url: string;
  log_url: string;
  performed_via_github_app: null;
}
export interface CommitStatus {
  url: string;
  avatar_url: string | null;
  id: number;
  node_id: string;
  state: CommitState;
  description: string | null;
  target_url: string | null;
  context: string;
  created_at: string;
  updated_at: string;
  creator: Actor;
}
/** A deployment as stored, with its statuses oldest first. */
export interface StoredDeployment {
  owner: string;
  repo: string;
  deployment: Deployment;
  statuses: DeploymentStatus[];
}
export interface GitHubApi {
  /** http://127.0.0.1:<port>, the value for GITHUB_API_URL. */
  url: string;
  requests: RecordedRequest[];
  /** Every way a request did not match the OpenAPI description, or the mock's answer did not. */
  violations: string[];
  /** In creation order. */
  deployments: StoredDeployment[];
  /** Commit statuses by sha, oldest first. */
  statuses: Map<string, CommitStatus[]>;
  /** Answers these operations with GitHub's 403 for a token lacking the permission. */
  /** Attestations in creation order, with the repository they were stored for. */
  attestations: Array<{ owner: string; repo: string; id: number; bundle: SigstoreBundle }>;
  forbid(operationIds: string[]): void;
  /**
   * Accepts `token` with a workflow job's `permissions` (as GITHUB_TOKEN is made for each job): an
   * operation that needs more answers GitHub's 403. Once a token is granted, unknown tokens answer 401.
   */
  grant(token: string, permissions: Permissions): void;
  close(): Promise<void>;
}
declare function actor(base: string): {
  login: string;
  id: number;
  node_id: string;
  avatar_url: string;
  gravatar_id: string;
  url: string;
  html_url: string;
  followers_url: string;
  following_url: string;
  gists_url: string;
  starred_url: string;
  subscriptions_url: string;
  organizations_url: string;
  repos_url: string;
  events_url: string;
  received_events_url: string;
  type: string;
  user_view_type: string;
  site_admin: boolean;
};
export declare function postToRepository(
  apiUrl: string,
  token: string,
  repository: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }>;
/** The in-toto statement an attestation's bundle carries. */
export declare function attestedStatement(attestation: { bundle: SigstoreBundle }): {
  subject: Array<{ name: string; digest: { sha256: string } }>;
  [key: string]: unknown;
};
/** Who recorded a deployment: deployer (its payload names the release) or GitHub for a job's environment. */
export declare function recordedBy(deployment: Pick<Deployment, 'payload'>): 'deployer' | 'job';
export declare function startGitHubApi(options?: { token?: string }): Promise<GitHubApi>;

/** A workflow's or job's `permissions`: an object of scopes, `read-all` or `write-all`. */
export type Permissions = Record<string, 'read' | 'write' | 'none'> | 'read-all' | 'write-all';
export declare function permits(
  permissions: Permissions | undefined,
  scope: string,
  level: 'read' | 'write',
): boolean;

/** What the harness's stand-in for actions/attest-build-provenance stores: the statement, unsigned. */
export interface SigstoreBundle {
  mediaType: string;
  verificationMaterial: Record<string, unknown>;
  dsseEnvelope: { payload: string; payloadType: string; signatures: unknown[] };
}
