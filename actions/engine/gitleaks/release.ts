// Which official gitleaks release archive to fetch, and the checksum it must have.

export const DEFAULT_GITLEAKS_VERSION = '8.28.0';
export const DEFAULT_DOWNLOAD_URL = 'https://github.com/gitleaks/gitleaks/releases/download';

/**
 * SHA-256 of the official release archives, keyed by `<version>/<platform>_<arch>` as in the asset names.
 * The 8.28.0 values are the ones gitleaks_8.28.0_checksums.txt lists, as pinned identically by several
 * independent public projects; they were not re-downloaded here (no internet). Add versions only from that file.
 */
export const PINNED_SHA256: Readonly<Record<string, string>> = {
  '8.28.0/linux_x64': 'a65b5253807a68ac0cafa4414031fd740aeb55f54fb7e55f386acb52e6a840eb',
  '8.28.0/linux_arm64': 'eff65261156100e5d94a6b3dec313d532fddfe19ae1590bf7a2b4f2699128356',
  '8.28.0/darwin_x64': 'edf5a507008b0d2ef4959575772772770586409c1f6f74dabf19cbe7ec341ced',
  '8.28.0/darwin_arm64': 'd942f3ad147250c9edbaab3fed9e482f98d3b59ba10ae97b8d75647e3ade492c',
  '8.28.0/windows_x64': 'da6458e8864af553807de1c46a7a8eac0880bd6b99ba56288e87e86a45af884f',
};

export interface ReleaseAsset {
  version: string;
  /** `linux_x64`, `darwin_arm64`, … as gitleaks names its assets. */
  target: string;
  /** Architecture as the tool cache records it (`x64`, `arm64`, …). */
  arch: string;
  fileName: string;
  url: string;
  archive: 'tar.gz' | 'zip';
  binaryName: string;
}

const PLATFORMS: Record<string, string> = { linux: 'linux', darwin: 'darwin', win32: 'windows' };
const ARCHES: Record<string, string> = { x64: 'x64', arm64: 'arm64', ia32: 'x32', arm: 'armv7' };

/** The release asset for this runner, or an explanation of why there is none. */
export function releaseAsset(
  version: string,
  platform: string,
  arch: string,
  baseUrl: string = DEFAULT_DOWNLOAD_URL,
): ReleaseAsset {
  const os = PLATFORMS[platform];
  const cpu = ARCHES[arch];
  if (!os || !cpu)
    throw new Error(`gitleaks publishes no release for ${platform}/${arch}; use gitleaks-path`);
  const archive = os === 'windows' ? 'zip' : 'tar.gz';
  const fileName = `gitleaks_${version}_${os}_${cpu}.${archive}`;
  return {
    version,
    target: `${os}_${cpu}`,
    arch: cpu,
    fileName,
    url: `${baseUrl.replace(/\/+$/, '')}/v${version}/${fileName}`,
    archive,
    binaryName: os === 'windows' ? 'gitleaks.exe' : 'gitleaks',
  };
}

/** The checksum the archive must have: the caller's, else the pinned one; undefined when neither exists. */
export function expectedSha256(asset: ReleaseAsset, override?: string): string | undefined {
  return override?.toLowerCase() ?? PINNED_SHA256[`${asset.version}/${asset.target}`];
}
