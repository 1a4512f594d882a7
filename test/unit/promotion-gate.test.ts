// The promotion gate (promote/source.ts verifySource with promote/gate.ts) against a staging
// environment deployed on a fake host: what the source records, what its container runs, and
// whether it answers ready now.
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  PromotionRefusedError,
  verifySource,
  type SourceEnvironment,
} from '../../actions/engine/promote/source.js';
import type { ReleaseRecord } from '../../actions/engine/state/release.js';
import { imageIdOf } from '../support/fake-executor.js';
import { DeployFixture, ENVIRONMENT, PROJECT, READINESS, release } from '../support/fake-deploy.js';

const A = release('a');
const B = release('b');

let fixture: DeployFixture;
let current: ReleaseRecord;
let source: SourceEnvironment;

// Staging runs A: deployed for real once, then each test gets a copy of that host.
let template: DeployFixture;
beforeAll(async () => {
  template = await DeployFixture.create();
  current = (await template.deployed(A)).release;
});
afterAll(async () => {
  await template.host.dispose();
});

beforeEach(async () => {
  fixture = await template.copy();
  source = {
    environment: ENVIRONMENT,
    deployPath: fixture.deployPath,
    appService: 'app',
    readiness: READINESS,
    endpoint: { kind: 'url', url: fixture.url },
  };
});
afterEach(async () => {
  await fixture.host.dispose();
});

function verify(requested: string, from: SourceEnvironment = source): Promise<ReleaseRecord> {
  return verifySource(fixture.host.connect(), from, requested, 'production');
}

async function refusal(requested: string, from: SourceEnvironment = source): Promise<Error> {
  const error = await verify(requested, from).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error, 'the promotion was not refused').toBeInstanceOf(PromotionRefusedError);
  expect(error!.message).toMatch(/^Promotion refused, production was not touched: /);
  return error!;
}

const appContainer = () => fixture.host.service(PROJECT, 'app')[0]!;

describe('the promotion gate', () => {
  let requests = 0;
  beforeEach(() => {
    requests = 0;
    fixture.host.onAppRequest = () => requests++;
  });

  it('passes the source’s current successful release, running and ready, with its digests', async () => {
    const verified = await verify(A.sha);

    expect(verified).toEqual(current);
    expect(verified).toMatchObject({
      status: 'success',
      appImage: A.appImage,
      migratorImage: A.migratorImage,
    });
    expect(requests).toBe(1);
    // Only reads: the source environment is not changed.
    expect(fixture.host.labels()).toEqual([
      'read-state',
      'docker ps',
      'docker inspect',
      'docker image inspect',
    ]);
  });

  it('accepts the release id, or a sha prefix of at least 7 characters', async () => {
    expect((await verify(current.id)).id).toBe(current.id);
    expect((await verify(A.sha.slice(0, 7))).id).toBe(current.id);
    const short = await refusal(A.sha.slice(0, 6));
    expect(short.message).toContain(`staging does not currently run ${A.sha.slice(0, 6)}`);
  });

  it('is refused when the source does not run the requested sha', async () => {
    const error = await refusal(B.sha);
    expect(error.message).toBe(
      `Promotion refused, production was not touched: staging does not currently run ${B.sha}; it runs ${A.sha} (release ${current.id}, success).`,
    );
  });

  it('is refused with the latest attempt’s fate when that sha was tried and rolled back', async () => {
    fixture.host.app(B.appImage, { ready: false });
    const attempt = await fixture.deploy(B);
    expect(attempt.recorded!.release.status).toBe('rolled_back');

    const error = await refusal(B.sha);
    expect(error.message).toContain(`staging does not currently run ${B.sha}; it runs ${A.sha}`);
    expect(error.message).toMatch(
      new RegExp(`Its latest attempt at ${B.sha} ended rolled_back: .*not ready within`),
    );
  });

  it('is refused when nothing was ever deployed successfully', async () => {
    const empty = { ...source, deployPath: fixture.host.deployPath('srv/empty') };
    const error = await refusal(A.sha, empty);
    expect(error.message).toContain(
      `staging does not currently run ${A.sha}; it runs nothing (no successful release recorded)`,
    );
  });

  it('is refused when the source’s current release is not a success', async () => {
    const statePath = `${fixture.deployPath}/.deployer/state.json`;
    const state = fixture.state();
    writeFileSync(statePath, JSON.stringify({ ...state, current: { ...state.current!, status: 'failed' } }));
    const error = await refusal(A.sha);
    expect(error.message).toContain(`staging's current release ${current.id} is failed`);
  });

  it('is refused when the deploy path holds another environment’s state', async () => {
    const error = await refusal(A.sha, { ...source, environment: 'qa' });
    expect(error.message).toContain(`the source deploy path holds staging's state, not qa's`);
  });

  it('is refused when the app container runs another image', async () => {
    appContainer().image = B.appImage;
    const error = await refusal(A.sha);
    expect(error.message).toContain(`staging's app container runs ${B.appImage} (`);
    expect(error.message).toContain(`not the recorded ${A.appImage}`);
    expect(requests).toBe(0);
  });

  it('is refused when the app container runs another image id than the recorded image has', async () => {
    fixture.host.setImage(A.appImage, imageIdOf('something else'));
    const error = await refusal(A.sha);
    expect(error.message).toContain(
      `staging's app container runs ${A.appImage} (${imageIdOf(A.appImage).slice(0, 19)}), not the recorded ${A.appImage} (${imageIdOf('something else').slice(0, 19)})`,
    );
  });

  it('is refused when no app container runs', async () => {
    appContainer().exit(137);
    const error = await refusal(A.sha);
    expect(error.message).toContain('no staging app container is running');
  });

  it('is refused when the source does not answer ready now', async () => {
    fixture.host.app(A.appImage, { ready: false });
    const error = await refusal(A.sha);
    expect(error.message).toMatch(
      /^Promotion refused, production was not touched: staging is not ready right now: /,
    );
    expect(error.message).toContain('503');
    expect(requests).toBeGreaterThan(1);
  });
});
