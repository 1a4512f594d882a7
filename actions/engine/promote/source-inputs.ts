import type { DeploySettings } from '../deploy/inputs.js';
import { InputError, readingWith, type InputSource } from '../inputs.js';
import { readEndpoint, readReadinessSettings } from '../readiness/index.js';
import { readyRightNow, type SourceEnvironment } from './source.js';

/** Source readiness inputs not given follow the deploy's own (`source-ready-path` ← `ready-path` …), except the URL and the timeout. */
function followingDeploy(inputs: InputSource): InputSource {
  return readingWith(inputs, (name) => {
    const own = inputs.read(name);
    if (
      own ||
      !name.startsWith('source-ready-') ||
      ['source-ready-url', 'source-ready-timeout'].includes(name)
    )
      return own;
    return inputs.read(name.slice('source-'.length));
  });
}

/** The promotion source (staging) from promote-prod's `source-*` inputs. */
export function readSource(
  own: { 'promote-from': string; 'source-deploy-path'?: string; 'source-app-service'?: string },
  settings: Pick<DeploySettings, 'endpoint' | 'app-service' | 'switching'>,
  inputs: InputSource,
): SourceEnvironment {
  const sourceReadiness = followingDeploy(inputs);
  const deployPath = own['source-deploy-path'];
  if (!deployPath)
    throw new InputError(
      'source-deploy-path',
      `is required in promote mode: where ${own['promote-from']} is deployed on its host`,
    );
  if (deployPath.split('/').includes('..'))
    throw new InputError('source-deploy-path', 'must not contain ".."');
  const endpoint = readEndpoint(
    {
      url: 'source-ready-url',
      host: 'source-ready-host',
      port: 'source-ready-port',
      path: 'source-ready-path',
    },
    sourceReadiness,
    settings.endpoint?.kind === 'through-host' ? settings.endpoint.port : 0,
  );
  // A Swarm source is ready when its services converged with their healthchecks; HTTP is an extra check.
  if (!endpoint && settings.switching.strategy !== 'swarm')
    throw new InputError(
      'source-ready-port',
      `is required (or source-ready-url): where ${own['promote-from']} answers readiness (ready-url is production's, so it is not used for ${own['promote-from']})`,
    );
  const asked = readReadinessSettings('source-ready-', sourceReadiness);
  // "Ready right now" unless the workflow asks for more.
  const readiness = inputs.read('source-ready-timeout') ? asked : readyRightNow(asked);
  return {
    environment: own['promote-from'],
    deployPath: deployPath.replace(/\/+$/, ''),
    appService: own['source-app-service'] ?? settings['app-service'],
    readiness,
    endpoint,
  };
}
