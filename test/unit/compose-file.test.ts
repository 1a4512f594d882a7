import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkComposeFile } from '../../actions/engine/deploy/compose-file.js';
import { exampleDir } from '../support/paths.js';

const example = readFileSync(`${exampleDir}/docker-compose.deploy.yml`, 'utf8');
const names = { app: 'app', migrator: 'migrator', accessories: [] as string[] };

describe('checkComposeFile', () => {
  it('accepts the example app’s compose file', () => {
    expect(() => checkComposeFile(example, 'docker-compose.deploy.yml', names)).not.toThrow();
  });

  it('names the input whose service is missing, and lists the services there are', () => {
    expect(() => checkComposeFile(example, 'c.yml', { ...names, app: 'web' })).toThrow(
      'Invalid input "app-service": "web" is not a service in c.yml (it has "app", "migrator")',
    );
    expect(() => checkComposeFile(example, 'c.yml', { ...names, migrator: 'migrate' })).toThrow(
      /Invalid input "migrator-service": "migrate" is not a service in c\.yml .*set run-migrations: false/,
    );
    expect(() => checkComposeFile(example, 'c.yml', { ...names, accessories: ['db'] })).toThrow(
      /^Invalid input "accessories": "db" is not a service/,
    );
    expect(() => checkComposeFile(example, 'c.yml', { ...names, migrator: undefined })).not.toThrow();
  });

  it('refuses an app whose image does not come from deploy.env', () => {
    const fixed = example.replace('${APP_IMAGE:?APP_IMAGE must be set}', 'ghcr.io/acme/app:latest');
    expect(() => checkComposeFile(fixed, 'c.yml', names)).toThrow(
      'Invalid input "compose-file": service "app" in c.yml must take its image from deploy.env: image: ${APP_IMAGE:?APP_IMAGE must be set}, not "ghcr.io/acme/app:latest"',
    );
  });

  it('refuses text that is not YAML or has no services', () => {
    expect(() => checkComposeFile('services: [oops', 'c.yml', names)).toThrow(
      /^Invalid input "compose-file": c\.yml is not valid YAML/,
    );
    expect(() => checkComposeFile('version: "3"\n', 'c.yml', names)).toThrow(
      'Invalid input "compose-file": c.yml has no services: map',
    );
  });
});
