// A loopback stand-in for the GitHub REST API. Every request is checked against GitHub's published
// OpenAPI description (@octokit/openapi); deployments, deployment statuses and commit statuses behave
// as on GitHub, every other valid route answers 501. Tests assert `violations` is empty.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

const OPENAPI = createRequire(import.meta.url).resolve(
  '@octokit/openapi/generated/api.github.com.deref.json',
);
const SHA = /^[0-9a-f]{40}$/i;
const FAKE_SHA = 'a5f0c4b2e8d1f3a7b9c6d4e2f0a8b7c5d3e1f9a6';
const DOCS = 'https://docs.github.com/rest';

/**
 * The GITHUB_TOKEN permission each implemented operation needs (docs.github.com, "Permissions required for
 * GitHub Apps"): a token granted with `grant()` gets GitHub's 403 without it.
 */
const REQUIRED_PERMISSION = {
  'repos/create-deployment': ['deployments', 'write'],
  'repos/create-deployment-status': ['deployments', 'write'],
  'repos/list-deployments': ['deployments', 'read'],
  'repos/get-deployment': ['deployments', 'read'],
  'repos/list-deployment-statuses': ['deployments', 'read'],
  'repos/create-commit-status': ['statuses', 'write'],
  'repos/create-attestation': ['attestations', 'write'],
  'repos/list-commit-statuses-for-ref': ['statuses', 'read'],
  'repos/get-combined-status-for-ref': ['statuses', 'read'],
};
const LEVEL = { none: 0, read: 1, write: 2 };

/** Whether a workflow's `permissions` (an object, `read-all`, `write-all` or `{}`) allow `scope: level`. */
export function permits(permissions, scope, level) {
  const granted =
    permissions === 'write-all' ? 'write' : permissions === 'read-all' ? 'read' : permissions?.[scope];
  return (LEVEL[granted] ?? 0) >= LEVEL[level];
}

let routes;

/** The OpenAPI operations, most specific path first; read once per process (the file is 70 MB). */
function loadRoutes() {
  return (routes ??= (async () => {
    const doc = JSON.parse(await readFile(OPENAPI, 'utf8'));
    const list = [];
    for (const [template, item] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(item))
        if (operation?.operationId) list.push(route(method.toUpperCase(), template, operation));
    return list.sort((a, b) => b.literal - a.literal || a.multi - b.multi);
  })());
}

function route(method, template, operation) {
  // `x-multi-segment` parameters (ref, path, branch…) may contain slashes.
  const multi = new Set(
    (operation.parameters ?? []).filter((p) => p.in === 'path' && p['x-multi-segment']).map((p) => p.name),
  );
  const names = [];
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const name = /^\{(.+)\}$/.exec(part)?.[1];
      if (name === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(name);
      return multi.has(name) ? '(.+?)' : '([^/]+?)';
    })
    .join('');
  return {
    method,
    pattern: new RegExp(`^${source}$`),
    names,
    literal: template.replace(/\{[^}]+\}/g, '').length,
    multi: multi.size,
    operation,
  };
}

/** OpenAPI 3.0 schema → JSON Schema ajv understands: `nullable` becomes a null type, annotations go. */
function toJsonSchema(schema) {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const source = schema;
  let out = {};
  for (const [key, value] of Object.entries(source)) {
    if (DROPPED.has(key) || key.startsWith('x-')) continue;
    if (key === 'properties') out[key] = mapValues(value, toJsonSchema);
    else if (key === 'items' || key === 'additionalProperties' || key === 'not')
      out[key] = toJsonSchema(value);
    else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') out[key] = value.map(toJsonSchema);
    else out[key] = value;
  }
  // GitHub sends these fields' documented default "" (deployment status target_url, log_url…),
  // which their own `format: uri` rejects.
  if (typeof out.format === 'string' && out.default === '') out = { anyOf: [{ const: '' }, out] };
  if (source.nullable === true) {
    const combined = 'allOf' in out || 'anyOf' in out || 'oneOf' in out;
    if (typeof out.type !== 'string' || combined) return { anyOf: [{ type: 'null' }, out] };
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

const DROPPED = new Set([
  'description',
  'title',
  'example',
  'examples',
  'nullable',
  'discriminator',
  'xml',
  'externalDocs',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

function mapValues(record, map) {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}

function makeAjv(coerceTypes) {
  const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes, logger: false });
  // ajv-formats is CommonJS: its default import is the module object in TypeScript's eyes.
  addFormats(ajv);
  ajv.addFormat('repo.nwo', /^[^/]+\/[^/]+$/);
  return ajv;
}

let ajvs;
const compiled = new WeakMap();

function validators(operation) {
  let found = compiled.get(operation);
  if (found) return found;
  ajvs ??= { params: makeAjv('array'), data: makeAjv(false) };
  const params = (where) => {
    const list = (operation.parameters ?? []).filter((p) => p.in === where);
    return {
      type: 'object',
      properties: Object.fromEntries(list.map((p) => [p.name, toJsonSchema(p.schema ?? {})])),
      required: list.filter((p) => p.required).map((p) => p.name),
      additionalProperties: false,
    };
  };
  const body = toJsonSchema(operation.requestBody?.content['application/json']?.schema);
  // Stricter than the description: GitHub ignores unknown fields, which are usually a typo.
  if (body?.type === 'object' && body.properties && body.additionalProperties === undefined)
    body.additionalProperties = false;
  found = {
    path: ajvs.params.compile(params('path')),
    query: ajvs.params.compile(params('query')),
    body: body && ajvs.data.compile(body),
    responses: new Map(),
  };
  compiled.set(operation, found);
  return found;
}

function responseValidator(operation, status) {
  const all = validators(operation).responses;
  const key = String(status);
  if (!all.has(key)) {
    const schema = operation.responses[key]?.content?.['application/json']?.schema;
    all.set(key, schema && ajvs?.data.compile(toJsonSchema(schema)));
  }
  return all.get(key);
}

function describe(where, errors) {
  return (errors ?? []).map((error) => {
    const params = error.params;
    const detail =
      error.keyword === 'enum'
        ? `: ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
        : error.keyword === 'additionalProperties'
          ? `: ${String(params.additionalProperty)}`
          : '';
    return `${where}${error.instancePath} ${error.message}${detail}`;
  });
}

function timestamp() {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function nodeId(prefix, id) {
  return `${prefix}_${Buffer.from(`mock:${prefix}:${id}`).toString('base64url')}`;
}

function actor(base) {
  const url = `${base}/users/github-actions%5Bbot%5D`;
  return {
    login: 'github-actions[bot]',
    id: 41898282,
    node_id: 'MDM6Qm90NDE4OTgyODI=',
    avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
    gravatar_id: '',
    url,
    html_url: 'https://github.com/apps/github-actions',
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: 'Bot',
    user_view_type: 'public',
    site_admin: false,
  };
}

function error(status, message, docs = DOCS, extra = {}) {
  return { status, body: { message, ...extra, documentation_url: docs, status: String(status) } };
}

/** GitHub's answer to a description over 140 characters (the request schemas do not say so). */
function tooLong(resource, docs) {
  const message = 'description is too long (maximum is 140 characters)';
  return error(422, 'Validation Failed', docs, {
    errors: [{ resource, code: 'custom', field: 'description', message }],
  });
}

function paginate(items, call) {
  const perPage = Math.min(Math.max(Number(call.query.per_page ?? 30), 1), 100);
  const page = Math.max(Number(call.query.page ?? 1), 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const link = (to, rel) => {
    const url = new URL(call.href);
    url.searchParams.set('per_page', String(perPage));
    url.searchParams.set('page', String(to));
    return `<${url.href}>; rel="${rel}"`;
  };
  const links = [
    ...(page > 1 ? [link(page - 1, 'prev'), link(1, 'first')] : []),
    ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
  ];
  return {
    status: 200,
    body: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length > 0 ? { link: links.join(', ') } : {},
  };
}

/** A POST to a repository's REST route (`path` after /repos/owner/name) as a client would send it. */
export async function postToRepository(apiUrl, token, repository, path, body) {
  const response = await fetch(`${apiUrl}/repos/${repository}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.github+json',
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** The in-toto statement an attestation's bundle carries. */
export const attestedStatement = (attestation) =>
  JSON.parse(Buffer.from(attestation.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));

/** Who recorded a deployment: deployer (its payload names the release) or GitHub for a job's environment. */
export const recordedBy = (deployment) => ('releaseId' in deployment.payload ? 'deployer' : 'job');

export async function startGitHubApi(options = {}) {
  const table = await loadRoutes();
  const requests = [];
  const violations = [];
  const deployments = [];
  const statuses = new Map();
  const commitStatuses = [];
  const attestations = [];
  const forbidden = new Set();
  /** Tokens handed out with `grant`, with the permissions of the job they were made for. */
  const granted = new Map();
  const ids = { deployment: 0, deploymentStatus: 0, commitStatus: 0 };
  let base = '';

  const repoKey = (owner, repo) => `${owner}/${repo}`.toLowerCase();
  const findDeployment = (call) =>
    deployments.find(
      (d) =>
        d.deployment.id === call.params.deployment_id &&
        repoKey(d.owner, d.repo) === repoKey(call.owner, call.repo),
    );

  function deploymentStatus(stored, state, fields = {}) {
    const id = ++ids.deploymentStatus;
    const now = timestamp();
    const { deployment } = stored;
    const status = {
      url: `${deployment.url}/statuses/${id}`,
      id,
      node_id: nodeId('DES', id),
      state,
      creator: actor(base),
      description: fields.description ?? '',
      environment: deployment.environment,
      target_url: fields.log_url ?? '',
      created_at: now,
      updated_at: now,
      deployment_url: deployment.url,
      repository_url: deployment.repository_url,
      environment_url: fields.environment_url ?? '',
      log_url: fields.log_url ?? '',
      performed_via_github_app: null,
    };
    stored.statuses.push(status);
    deployment.updated_at = now;
    return status;
  }

  const handlers = {
    // The bundle is stored as given; GitHub would also check its Sigstore signature.
    'repos/create-attestation': ({ owner, repo, body }) => {
      const id = attestations.length + 1;
      attestations.push({ owner, repo, id, bundle: body.bundle });
      return { status: 201, body: { id } };
    },

    'repos/create-deployment': ({ owner, repo, body }) => {
      const id = ++ids.deployment;
      const now = timestamp();
      const ref = body.ref;
      const environment = body.environment ?? 'production';
      const repositoryUrl = `${base}/repos/${owner}/${repo}`;
      const deployment = {
        url: `${repositoryUrl}/deployments/${id}`,
        id,
        node_id: nodeId('DE', id),
        sha: SHA.test(ref) ? ref.toLowerCase() : FAKE_SHA,
        ref,
        task: body.task ?? 'deploy',
        payload: payload(body.payload),
        original_environment: environment,
        environment,
        description: body.description === undefined ? '' : body.description,
        creator: actor(base),
        created_at: now,
        updated_at: now,
        statuses_url: `${repositoryUrl}/deployments/${id}/statuses`,
        repository_url: repositoryUrl,
        transient_environment: body.transient_environment ?? false,
        production_environment: body.production_environment ?? environment === 'production',
        performed_via_github_app: null,
      };
      deployments.push({ owner, repo, deployment, statuses: [] });
      return { status: 201, body: deployment };
    },

    'repos/create-deployment-status': (call) => {
      const stored = findDeployment(call);
      if (!stored) return error(404, 'Not Found', call.docs);
      const { body } = call;
      const description = body.description ?? '';
      if (description.length > 140) return tooLong('DeploymentStatus', call.docs);
      if (typeof body.environment === 'string') stored.deployment.environment = body.environment;
      const state = body.state;
      const status = deploymentStatus(stored, state, {
        description,
        environment_url: body.environment_url,
        // Setting log_url sets target_url too; target_url alone is its legacy spelling.
        log_url: body.log_url ?? body.target_url,
      });
      if (state === 'success' && body.auto_inactive !== false) {
        const { deployment } = stored;
        for (const other of deployments) {
          const latest = other.statuses.at(-1);
          if (
            other.deployment.id < deployment.id &&
            repoKey(other.owner, other.repo) === repoKey(stored.owner, stored.repo) &&
            other.deployment.environment === deployment.environment &&
            !other.deployment.transient_environment &&
            !other.deployment.production_environment &&
            latest?.state === 'success'
          )
            deploymentStatus(other, 'inactive');
        }
      }
      return { status: 201, body: status, headers: { location: status.url } };
    },

    'repos/list-deployments': (call) => {
      const { query } = call;
      const matching = deployments
        .filter((d) => repoKey(d.owner, d.repo) === repoKey(call.owner, call.repo))
        .map((d) => d.deployment)
        .filter(
          (d) =>
            (query.sha === undefined || d.sha === query.sha) &&
            (query.ref === undefined || d.ref === query.ref) &&
            (query.task === undefined || d.task === query.task) &&
            (query.environment === undefined ||
              query.environment === null ||
              d.environment === query.environment),
        )
        .reverse();
      return paginate(matching, call);
    },

    'repos/get-deployment': (call) => {
      const stored = findDeployment(call);
      return stored ? { status: 200, body: stored.deployment } : error(404, 'Not Found', call.docs);
    },

    'repos/list-deployment-statuses': (call) => {
      const stored = findDeployment(call);
      return stored ? paginate([...stored.statuses].reverse(), call) : error(404, 'Not Found', call.docs);
    },

    'repos/create-commit-status': ({ owner, repo, params, body, docs }) => {
      const sha = String(params.sha);
      if (!SHA.test(sha)) return error(422, `No commit found for SHA: ${sha}`, docs);
      const description = body.description ?? null;
      if (description !== null && description.length > 140) return tooLong('Status', docs);
      const id = ++ids.commitStatus;
      const now = timestamp();
      const creator = actor(base);
      const status = {
        url: `${base}/repos/${owner}/${repo}/statuses/${sha.toLowerCase()}`,
        avatar_url: creator.avatar_url,
        id,
        node_id: nodeId('SC', id),
        state: body.state,
        description,
        target_url: body.target_url ?? null,
        context: body.context ?? 'default',
        created_at: now,
        updated_at: now,
        creator,
      };
      commitStatuses.push({ repo: repoKey(owner, repo), sha: sha.toLowerCase(), status });
      const list = statuses.get(sha.toLowerCase()) ?? [];
      statuses.set(sha.toLowerCase(), [...list, status]);
      return { status: 201, body: status, headers: { location: status.url } };
    },

    'repos/list-commit-statuses-for-ref': (call) => {
      // Only shas resolve: the mock knows no branches or tags.
      const ref = String(call.params.ref).toLowerCase();
      const key = repoKey(call.owner, call.repo);
      const matching = commitStatuses.filter((s) => s.repo === key && s.sha === ref).map((s) => s.status);
      return paginate(matching.reverse(), call);
    },
  };

  async function answer(request, raw, record) {
    const where = `${record.method} ${record.path}`;
    const violation = (text) => void violations.push(`${where}: ${text}`);
    const candidates = table.filter((r) => r.pattern.test(record.path));
    const found = candidates.find((r) => r.method === record.method);
    if (!found) {
      const others = [...new Set(candidates.map((r) => r.method))];
      violation(`no GitHub operation${others.length > 0 ? ` (the path takes ${others.join(', ')})` : ''}`);
      return error(404, 'Not Found');
    }
    const { operation } = found;
    const docs = operation.externalDocs?.url ?? DOCS;
    record.operationId = operation.operationId;

    const [, credential] = /^(?:token|bearer)\s+(.+)$/i.exec(record.authorization ?? '') ?? [];
    const permissions = granted.get(credential);
    if ((options.token !== undefined || granted.size > 0) && !permissions && credential !== options.token) {
      violation(
        record.authorization ? 'the Authorization header has the wrong token' : 'no Authorization header',
      );
      return error(401, record.authorization ? 'Bad credentials' : 'Requires authentication');
    }

    let body;
    if (raw.length > 0) {
      if (!/^application\/(.+\+)?json\b/.test(request.headers['content-type'] ?? ''))
        violation(`the body is sent as ${request.headers['content-type'] ?? 'no content type'}, not JSON`);
      try {
        body = record.body = JSON.parse(raw.toString('utf8'));
      } catch {
        record.body = raw.toString('utf8');
        violation('the body is not JSON');
        return error(400, 'Problems parsing JSON', docs);
      }
    }

    const check = validators(operation);
    const match = found.pattern.exec(record.path) ?? [];
    const params = {};
    found.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1] ?? '')));
    const url = new URL(request.url ?? '/', base);
    const query = {};
    for (const key of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(key);
      query[key] = values.length > 1 ? values : values[0];
    }
    const problems = [
      ...(check.path(params) ? [] : describe('path', check.path.errors)),
      ...(check.query(query) ? [] : describe('query', check.query.errors)),
    ];
    if (body === undefined) {
      if (operation.requestBody?.required) problems.push('body is required');
    } else if (!operation.requestBody) problems.push('the operation takes no body');
    else if (check.body && !check.body(body)) problems.push(...describe('body', check.body.errors));
    problems.forEach(violation);

    if (forbidden.has(operation.operationId))
      return error(403, 'Resource not accessible by integration', docs);
    if (permissions) {
      const required = REQUIRED_PERMISSION[operation.operationId];
      if (!required) violation(`the mock does not know which permission ${operation.operationId} needs`);
      else if (!permits(permissions, ...required))
        return error(403, 'Resource not accessible by integration', docs);
    }
    if (problems.length > 0)
      return error(422, 'Validation Failed', docs, {
        errors: problems.map((message) => ({ code: 'invalid', message })),
      });

    const handler = handlers[operation.operationId];
    if (!handler) {
      violation(`${operation.operationId} is not implemented by the mock`);
      return error(501, `${operation.operationId} is not implemented by the GitHub API mock`, docs);
    }
    const result = handler({
      owner: String(params.owner),
      repo: String(params.repo),
      params,
      query,
      body: body ?? {},
      href: url,
      docs,
    });
    const validate = responseValidator(operation, result.status);
    if (validate && !validate(JSON.parse(JSON.stringify(result.body ?? null))))
      describe(`the mock's ${result.status} answer`, validate.errors).forEach(violation);
    return result;
  }

  async function handle(request, response) {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const url = new URL(request.url ?? '/', base);
    const record = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      authorization: request.headers.authorization,
    };
    requests.push(record);
    const result = await answer(request, Buffer.concat(chunks), record);
    record.status = result.status;
    response.writeHead(result.status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      ...result.headers,
    });
    response.end(result.body === undefined ? undefined : JSON.stringify(result.body));
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((failure) => {
      violations.push(`${request.method} ${request.url}: the mock failed: ${String(failure)}`);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;

  return {
    url: base,
    requests,
    violations,
    deployments,
    statuses,
    attestations,
    forbid(operationIds) {
      for (const id of operationIds) {
        if (!table.some((r) => r.operation.operationId === id)) throw new Error(`no GitHub operation ${id}`);
        forbidden.add(id);
      }
    },
    grant(token, permissions) {
      granted.set(token, permissions);
    },
    async close() {
      // Octokit keeps connections alive; close would wait for them.
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** No payload reads back as `{}`; a string holding a JSON object is taken as that object (an assumption). */
function payload(value) {
  if (value === undefined || value === '') return {};
  if (typeof value !== 'string') return value;
  try {
    const parsed = JSON.parse(value);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
  } catch {
    // not JSON: kept as the string it is
  }
  return value;
}
