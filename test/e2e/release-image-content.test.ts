import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describeDifference, readSavedImage } from '../../actions/engine/release/content.js';
import { sandbox } from '../support/sandbox.js';

// Reading `docker save` archives: what "same content" is built on when two builds differ in times.

const dir = mkdtempSync(join(tmpdir(), 'release-image-content-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Entry = Partial<tar.Header> & { name: string; body?: string | Buffer; pax?: Record<string, string> };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A `docker save`-shaped archive: manifest.json, a config and two layers (one gzip, as containerd saves). */
async function savedImage(
  name: string,
  options: { mtime: Date; xattr?: string; env?: string },
): Promise<string> {
  const { mtime } = options;
  const base = await tarOf([
    { name: 'bin/', type: 'directory', mode: 0o755, mtime },
    { name: 'bin/tool', mode: 0o755, mtime, body: 'tool v1\n' },
    { name: 'bin/alias', type: 'symlink', linkname: 'tool', mtime },
    { name: 'bin/hard', type: 'link', linkname: 'bin/tool', mtime },
  ]);
  const app = gzipSync(
    await tarOf([
      { name: 'app/', type: 'directory', mode: 0o755, mtime },
      {
        name: 'app/run',
        mode: 0o755,
        mtime,
        body: '#!/bin/sh\n',
        ...(options.xattr ? { pax: { 'SCHILY.xattr.security.capability': options.xattr } } : {}),
      },
    ]),
  );
  const config = JSON.stringify({
    created: mtime.toISOString(),
    architecture: 'amd64',
    os: 'linux',
    config: { Env: [options.env ?? 'A=1'], Cmd: ['/app/run'] },
    rootfs: { type: 'layers', diff_ids: ['sha256:x', 'sha256:y'] },
    history: [{ created: mtime.toISOString() }],
  });
  const digest = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
  const archive = await tarOf([
    { name: `blobs/sha256/${digest(base)}`, body: base },
    {
      name: 'manifest.json',
      body: JSON.stringify([
        {
          Config: `blobs/sha256/${digest(config)}`,
          Layers: [`blobs/sha256/${digest(base)}`, `blobs/sha256/${digest(app)}`],
        },
      ]),
    },
    { name: `blobs/sha256/${digest(config)}`, body: config },
    { name: `blobs/sha256/${digest(app)}`, body: app },
  ]);
  const file = join(dir, `${name}.tar`);
  writeFileSync(file, archive);
  return file;
}

describe('image content from docker save archives', () => {
  it('reads files, links and xattrs of plain and gzip layers; times do not count', async () => {
    const first = await readSavedImage(
      await savedImage('first', { mtime: new Date('2024-01-01T00:00:00Z') }),
    );
    expect(first.config).toEqual({ architecture: 'amd64', os: 'linux', Env: ['A=1'], Cmd: ['/app/run'] });
    expect(first.layers).toHaveLength(2);
    expect(first.layers[0]!.map((entry) => entry.path)).toEqual([
      '/bin',
      '/bin/alias',
      '/bin/hard',
      '/bin/tool',
    ]);
    expect(first.layers[0]!.find((entry) => entry.path === '/bin/tool')).toMatchObject({
      type: 'file',
      mode: 0o755,
      sha256: createHash('sha256').update('tool v1\n').digest('hex'),
    });
    expect(first.layers[0]!.find((entry) => entry.path === '/bin/hard')).toMatchObject({
      type: 'link',
      linkname: '/bin/tool',
    });
    expect(first.layers[1]!.map((entry) => entry.path)).toEqual(['/app', '/app/run']);

    const later = await readSavedImage(
      await savedImage('later', { mtime: new Date('2026-06-01T00:00:00Z') }),
    );
    expect(describeDifference(first, later)).toBeUndefined();
  });

  it('sees an xattr (a file capability) and a config change as different content', async () => {
    const mtime = new Date('2024-01-01T00:00:00Z');
    const plain = await readSavedImage(await savedImage('plain', { mtime }));
    const capable = await readSavedImage(
      await savedImage('capable', { mtime, xattr: 'cap_net_bind_service' }),
    );
    expect(describeDifference(plain, capable)).toBe('layer 2 of 2: /app/run differs (pax)');
    const other = await readSavedImage(await savedImage('other', { mtime, env: 'A=2' }));
    expect(describeDifference(plain, other)).toMatch(/^Env differ/);
  });

  it('reads a real `docker save` of the sandbox base image', async () => {
    const sb = sandbox();
    const file = join(dir, 'base.tar');
    execFileSync('docker', ['save', '--output', file, sb.baseImage]);
    const content = await readSavedImage(file);
    const busybox = content.layers.flat().find((entry) => entry.path === '/bin/busybox');
    expect(busybox).toMatchObject({ type: 'file', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(content.layers.flat().find((entry) => entry.path === '/bin/sh')).toMatchObject({
      type: 'symlink',
      linkname: 'busybox',
    });
    expect(describeDifference(content, await readSavedImage(file))).toBeUndefined();
  });
});
