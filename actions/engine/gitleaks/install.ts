import * as tc from '@actions/tool-cache';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from '../reporter.js';
import type { ReleaseAsset } from './release.js';

export class ChecksumMismatchError extends Error {
  constructor(asset: ReleaseAsset, expected: string, actual: string) {
    super(
      `Refusing ${asset.fileName} from ${asset.url}: its sha256 is ${actual}, expected ${expected}. ` +
        'It was not extracted or run.',
    );
    this.name = 'ChecksumMismatchError';
  }
}

export interface InstalledGitleaks {
  path: string;
  fromCache: boolean;
}

/**
 * The gitleaks binary from the runner's tool cache, or else downloaded, checked against `sha256`
 * before anything is extracted, then extracted and cached for the next job on this runner.
 */
export async function installGitleaks(
  asset: ReleaseAsset,
  sha256: string,
  reporter: Reporter,
): Promise<InstalledGitleaks> {
  const cached = tc.find('gitleaks', asset.version, asset.arch);
  if (cached && existsSync(join(cached, asset.binaryName))) {
    reporter.info(`gitleaks ${asset.version} found in the tool cache`);
    return { path: join(cached, asset.binaryName), fromCache: true };
  }
  reporter.info(`Downloading ${asset.url}`);
  const archive = await tc.downloadTool(asset.url);
  const actual = await sha256File(archive);
  if (actual !== sha256) {
    rmSync(archive, { force: true });
    throw new ChecksumMismatchError(asset, sha256, actual);
  }
  reporter.info(`sha256 ${actual} matches`);
  const extracted = asset.archive === 'zip' ? await tc.extractZip(archive) : await tc.extractTar(archive);
  rmSync(archive, { force: true });
  if (!existsSync(join(extracted, asset.binaryName))) {
    throw new Error(`${asset.fileName} holds no ${asset.binaryName} at its top level`);
  }
  const dir = await tc.cacheDir(extracted, 'gitleaks', asset.version, asset.arch);
  return { path: join(dir, asset.binaryName), fromCache: false };
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
