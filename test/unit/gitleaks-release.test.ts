import { describe, expect, it } from 'vitest';
import { expectedSha256, PINNED_SHA256, releaseAsset } from '../../actions/engine/gitleaks/release.js';

describe('gitleaks release assets', () => {
  it('names the official archives as the release page does', () => {
    expect(releaseAsset('8.28.0', 'linux', 'x64')).toEqual({
      version: '8.28.0',
      target: 'linux_x64',
      arch: 'x64',
      fileName: 'gitleaks_8.28.0_linux_x64.tar.gz',
      url: 'https://github.com/gitleaks/gitleaks/releases/download/v8.28.0/gitleaks_8.28.0_linux_x64.tar.gz',
      archive: 'tar.gz',
      binaryName: 'gitleaks',
    });
    expect(releaseAsset('8.28.0', 'darwin', 'arm64').fileName).toBe('gitleaks_8.28.0_darwin_arm64.tar.gz');
    const windows = releaseAsset('8.28.0', 'win32', 'x64');
    expect([windows.fileName, windows.archive, windows.binaryName]).toEqual([
      'gitleaks_8.28.0_windows_x64.zip',
      'zip',
      'gitleaks.exe',
    ]);
  });

  it('takes the download base from a mirror, with or without a trailing slash', () => {
    expect(releaseAsset('8.28.0', 'linux', 'arm64', 'http://127.0.0.1:8080/mirror/').url).toBe(
      'http://127.0.0.1:8080/mirror/v8.28.0/gitleaks_8.28.0_linux_arm64.tar.gz',
    );
  });

  it('refuses platforms gitleaks publishes nothing for', () => {
    expect(() => releaseAsset('8.28.0', 'aix', 'ppc64')).toThrow(
      /no release for aix\/ppc64; use gitleaks-path/,
    );
  });

  it('pins a sha256 per 8.28.0 archive and lets the caller supply one', () => {
    const linux = releaseAsset('8.28.0', 'linux', 'x64');
    expect(expectedSha256(linux)).toBe('a65b5253807a68ac0cafa4414031fd740aeb55f54fb7e55f386acb52e6a840eb');
    expect(expectedSha256(releaseAsset('8.27.0', 'linux', 'x64'))).toBeUndefined();
    expect(expectedSha256(linux, 'AB'.repeat(32))).toBe('ab'.repeat(32));
    for (const [key, sha] of Object.entries(PINNED_SHA256)) {
      expect(key).toMatch(/^\d+\.\d+\.\d+\/(linux|darwin|windows)_(x64|arm64)$/);
      expect(sha).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
