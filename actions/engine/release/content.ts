import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';

// What an image *is*, minus the times at which it was built: the config that decides how it runs and,
// per layer, every file's path, type, mode, owner, link target and content hash. Two builds of one
// commit with the docker driver differ in directory mtimes (BuildKit's rewrite-timestamp is not
// available to it), so byte-identity is not a usable test of "same content"; this is.

export interface FileEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
  sha256?: string;
  device?: string;
  /** PAX records other than times (e.g. xattrs such as security.capability). */
  pax?: Record<string, string>;
}

export interface ImageContent {
  config: Record<string, unknown>;
  layers: FileEntry[][];
}

/** Config fields that change how a container runs. History, creation times and layer ids are left out. */
const RUNTIME_CONFIG_FIELDS = [
  'User',
  'ExposedPorts',
  'Env',
  'Entrypoint',
  'Cmd',
  'Volumes',
  'WorkingDir',
  'Labels',
  'StopSignal',
  'Healthcheck',
  'Shell',
  'OnBuild',
];
const PLATFORM_FIELDS = ['architecture', 'os', 'variant', 'os.version', 'os.features'];
const TIME_PAX_KEYS = ['mtime', 'atime', 'ctime', 'LIBARCHIVE.creationtime'];

export function runtimeConfig(imageConfig: Record<string, unknown>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of PLATFORM_FIELDS)
    if (imageConfig[field] !== undefined) picked[field] = imageConfig[field];
  const config = (imageConfig.config ?? {}) as Record<string, unknown>;
  for (const field of RUNTIME_CONFIG_FIELDS) {
    const value = config[field];
    if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0))
      picked[field] = value;
  }
  return picked;
}

function normalizePath(name: string): string {
  const path = `/${name.replace(/^\.?\/+/, '').replace(/\/+$/, '')}`;
  return path === '/' ? '/' : path.replace(/\/{2,}/g, '/');
}

/** tar-stream's entries are streamx streams of Buffers. */
type Chunks = AsyncIterable<unknown>;

async function readAll(stream: Chunks): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Layers are plain tars in `docker save` of the classic store, gzip in the containerd store's. */
async function decompressed(stream: Chunks): Promise<Readable> {
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head = first.done ? Buffer.alloc(0) : (first.value as Buffer);
  const rest = Readable.from(
    (async function* () {
      if (head.length) yield head;
      for (let next = await iterator.next(); !next.done; next = await iterator.next())
        yield next.value as Buffer;
    })(),
  );
  if (head[0] === 0x1f && head[1] === 0x8b) return rest.pipe(createGunzip());
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528)
    throw new Error('zstd-compressed layers are not supported');
  return rest;
}

async function readLayer(stream: Chunks): Promise<FileEntry[]> {
  const extract = tar.extract();
  (await decompressed(stream)).pipe(extract);
  const entries: FileEntry[] = [];
  for await (const entry of extract) {
    const header = entry.header;
    const file: FileEntry = {
      path: normalizePath(header.name),
      type: header.type ?? 'file',
      mode: (header.mode ?? 0) & 0o7777,
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
      size: header.size ?? 0,
    };
    if (header.linkname)
      file.linkname = header.type === 'link' ? normalizePath(header.linkname) : header.linkname;
    if (header.type === 'block-device' || header.type === 'character-device')
      file.device = `${header.devmajor ?? 0}:${header.devminor ?? 0}`;
    const paxRecords = (header as { pax?: Record<string, string> | null }).pax ?? {};
    const pax = Object.entries(paxRecords).filter(
      ([key]) => !TIME_PAX_KEYS.includes(key) && key !== 'path' && key !== 'linkpath' && key !== 'size',
    );
    if (pax.length) file.pax = Object.fromEntries(pax.sort(([a], [b]) => a.localeCompare(b)));
    if (header.type === 'file' || header.type === 'contiguous-file') {
      const hash = createHash('sha256');
      for await (const chunk of entry) hash.update(chunk as Buffer);
      file.sha256 = hash.digest('hex');
    } else {
      entry.resume();
    }
    entries.push(file);
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function* savedEntries(file: string) {
  const extract = tar.extract();
  createReadStream(file).pipe(extract);
  yield* extract;
}

interface SaveManifest {
  Config: string;
  Layers: string[];
}

/** Reads a `docker save` archive of one image (both the legacy and the OCI layout carry manifest.json). */
export async function readSavedImage(file: string): Promise<ImageContent> {
  let manifest: SaveManifest | undefined;
  for await (const entry of savedEntries(file)) {
    if (entry.header.name === 'manifest.json') {
      const parsed = JSON.parse((await readAll(entry)).toString('utf8')) as SaveManifest[];
      manifest = parsed[0];
    } else entry.resume();
  }
  if (!manifest) throw new Error(`${file} has no manifest.json: not a docker save archive`);
  const wanted = new Set([manifest.Config, ...manifest.Layers]);
  let config: Record<string, unknown> | undefined;
  const layers = new Map<string, FileEntry[]>();
  for await (const entry of savedEntries(file)) {
    const name = entry.header.name;
    if (!wanted.has(name)) entry.resume();
    else if (name === manifest.Config)
      config = JSON.parse((await readAll(entry)).toString('utf8')) as Record<string, unknown>;
    else layers.set(name, await readLayer(entry));
  }
  if (!config) throw new Error(`${file} lacks the image config ${manifest.Config}`);
  return {
    config: runtimeConfig(config),
    layers: manifest.Layers.map((name) => {
      const layer = layers.get(name);
      if (!layer) throw new Error(`${file} lacks layer ${name}`);
      return layer;
    }),
  };
}

const show = (value: unknown) => {
  const text = JSON.stringify(value) ?? 'nothing';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

function describeEntry(entry: FileEntry): Record<string, unknown> {
  const { path: _path, ...rest } = entry;
  return rest;
}

/**
 * The first way in which `built` differs from `published`, in words; undefined when they hold the same
 * content. Times are ignored on purpose; everything else counts.
 */
export function describeDifference(published: ImageContent, built: ImageContent): string | undefined {
  const keys = [...new Set([...Object.keys(published.config), ...Object.keys(built.config)])].sort();
  for (const key of keys) {
    const before = published.config[key];
    const after = built.config[key];
    if (JSON.stringify(before) !== JSON.stringify(after)) {
      if (key === 'Labels' || key === 'Env') {
        const a = (before ?? {}) as Record<string, unknown> | string[];
        const b = (after ?? {}) as Record<string, unknown> | string[];
        const entries = (value: Record<string, unknown> | string[]) =>
          Array.isArray(value) ? value : Object.entries(value).map(([k, v]) => `${k}=${String(v)}`);
        const removed = entries(a).filter((item) => !entries(b).includes(item));
        const added = entries(b).filter((item) => !entries(a).includes(item));
        return `${key} differ: the registry's image has ${show(removed)}, this build has ${show(added)}`;
      }
      return `${key} differs: the registry's image has ${show(before)}, this build has ${show(after)}`;
    }
  }
  if (published.layers.length !== built.layers.length)
    return `the registry's image has ${published.layers.length} layers, this build has ${built.layers.length}`;
  for (let index = 0; index < built.layers.length; index++) {
    const before = new Map(published.layers[index]!.map((entry) => [entry.path, entry]));
    const after = new Map(built.layers[index]!.map((entry) => [entry.path, entry]));
    const where = `layer ${index + 1} of ${built.layers.length}`;
    for (const [path, entry] of after) {
      const old = before.get(path);
      if (!old) return `${where}: ${path} is new in this build`;
      if (JSON.stringify(describeEntry(old)) !== JSON.stringify(describeEntry(entry))) {
        const changed = Object.keys({ ...describeEntry(old), ...describeEntry(entry) }).filter(
          (key) =>
            JSON.stringify((old as unknown as Record<string, unknown>)[key]) !==
            JSON.stringify((entry as unknown as Record<string, unknown>)[key]),
        );
        return `${where}: ${path} differs (${changed.map((key) => (key === 'sha256' ? 'content' : key)).join(', ')})`;
      }
    }
    for (const path of before.keys())
      if (!after.has(path)) return `${where}: ${path} is missing from this build`;
  }
  return undefined;
}
