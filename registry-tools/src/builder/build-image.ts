import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor, ImageStore, Platform, ProgressEvent } from '../image-store';
import { sha256Digest } from './digest-tap';
import { type BuiltLayer, buildLayer } from './layer-builder';
import type { Compression } from './layer-compression';
import { formatPlatform } from '../platform';
import { MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST } from '../manifest';
import {
  ANNOTATION_CREATED,
  ANNOTATION_REVISION,
  ANNOTATION_SOURCE,
  ANNOTATION_VERSION,
  imageConfigJson,
  imageIndexJson,
  imageManifestJson,
} from './oci-documents';
import { type TreeEntry, normalisePrefix, walkTree } from './tree-walker';

export const DEFAULT_PREFIX = '/opt/miner';

export interface PlatformSource {
  platform: Platform;
  dir: string;
}

export interface BuildOptions {
  platforms: PlatformSource[];
  /** Files identical on every platform (e.g. bytecode): one layer shared by all manifests. */
  common?: string;
  version: string;
  prefix?: string;
  /** Absolute, or relative to the prefix; default `<prefix>/bin/miner`. */
  entrypoint?: string;
  compression?: Compression;
  /** Seconds since the epoch for every time in the image (SOURCE_DATE_EPOCH); default now. */
  sourceDateEpoch?: number;
  source?: string;
  revision?: string;
  /** Tag for the index in the output store; default the version. */
  tag?: string;
  onProgress?: (e: ProgressEvent) => void;
  /** Where compressed layers are staged before upload; default the system temp directory (TMPDIR). */
  stageDir?: string;
}

export interface BuildResult {
  index: Descriptor;
  tag: string;
  manifests: Descriptor[];
  commonLayer?: Descriptor;
}

/**
 * `minerhaul build`: a slim multi-arch image from directories, written to `store`.
 * Reproducible: equal inputs and SOURCE_DATE_EPOCH give equal digests (docs/decisions/0251).
 */
export async function buildImage(options: BuildOptions, store: ImageStore): Promise<BuildResult> {
  const plan = await planBuild(options);
  const stageDir = await mkdtemp(join(options.stageDir ?? tmpdir(), 'minerhaul-build-'));
  try {
    const layerOptions = { mtime: plan.epoch, compression: plan.compression, stageDir };
    let common: BuiltLayer | undefined;
    if (plan.commonEntries !== undefined) {
      common = await buildLayer(plan.commonEntries, { ...layerOptions, name: 'common' });
      await uploadBlob(store, common.descriptor, common.path, options.onProgress);
    }
    const manifests: Descriptor[] = [];
    for (const [i, p] of plan.platforms.entries()) {
      const layer = await buildLayer(p.entries, { ...layerOptions, name: `platform-${i}` });
      await uploadBlob(store, layer.descriptor, layer.path, options.onProgress);
      const layers = common ? [common, layer] : [layer];
      const configBytes = imageConfigJson({
        platform: p.platform,
        created: plan.created,
        entrypoint: plan.entrypoint,
        workingDir: plan.workingDir,
        diffIds: layers.map((l) => l.diffId),
        layerComments: layers.map((l) => (l === common ? 'common files' : formatPlatform(p.platform))),
        labels: plan.annotations,
      });
      const configDescriptor = {
        mediaType: MEDIA_TYPE_OCI_CONFIG,
        digest: sha256Digest(configBytes),
        size: configBytes.length,
      };
      await store.putBlob(configDescriptor, () => bufferStream(configBytes));
      const manifestBytes = imageManifestJson(
        configDescriptor,
        layers.map((l) => l.descriptor),
        plan.annotations,
      );
      const manifest = await store.putManifest(manifestBytes, MEDIA_TYPE_OCI_MANIFEST);
      manifests.push({
        mediaType: MEDIA_TYPE_OCI_MANIFEST,
        digest: manifest.digest,
        size: manifest.size,
        platform: p.platform,
      });
    }
    const indexBytes = imageIndexJson(manifests, plan.annotations);
    const index = await store.putManifest(indexBytes, MEDIA_TYPE_OCI_INDEX, plan.tag);
    return {
      index: { mediaType: MEDIA_TYPE_OCI_INDEX, digest: index.digest, size: index.size },
      tag: plan.tag,
      manifests,
      ...(common ? { commonLayer: common.descriptor } : {}),
    };
  } finally {
    await rm(stageDir, { recursive: true, force: true });
  }
}

interface BuildPlan {
  epoch: number;
  created: string;
  compression: Compression;
  entrypoint: string;
  workingDir: string;
  tag: string;
  annotations: Record<string, string>;
  commonEntries?: TreeEntry[];
  platforms: { platform: Platform; entries: TreeEntry[] }[];
}

/** Validates the options and walks every directory before anything is written. */
async function planBuild(options: BuildOptions): Promise<BuildPlan> {
  if (options.platforms.length === 0) {
    throw new MinerhaulError('E_CONFIG', 'at least one --platform OS/ARCH=DIR is needed');
  }
  if (options.version.trim().length === 0)
    throw new MinerhaulError('E_CONFIG', '--version must not be empty');
  const prefix = '/' + normalisePrefix(options.prefix ?? DEFAULT_PREFIX);
  const entrypoint = posix.resolve(prefix, options.entrypoint ?? 'bin/miner');
  const epoch = options.sourceDateEpoch ?? Math.floor(Date.now() / 1000);
  const created = new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const tag = options.tag ?? options.version;
  if (!/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/.test(tag)) {
    // distribution-spec "Pulling manifests": the tag grammar.
    throw new MinerhaulError(
      'E_CONFIG',
      `'${tag}' is not a valid tag; give one with --output oci-layout:DIR:TAG`,
    );
  }

  const seen = new Set<string>();
  // Sorted so that the order of --platform options does not change the index digest.
  const sorted = [...options.platforms].sort((a, b) =>
    compareStrings(formatPlatform(a.platform), formatPlatform(b.platform)),
  );
  const platforms: BuildPlan['platforms'] = [];
  const commonEntries = options.common === undefined ? undefined : await walkTree(options.common, prefix);
  const commonByPath = new Map((commonEntries ?? []).map((e) => [e.path.replace(/\/$/, ''), e]));
  for (const p of sorted) {
    const key = formatPlatform(p.platform);
    if (seen.has(key)) throw new MinerhaulError('E_CONFIG', `platform ${key} given twice`);
    seen.add(key);
    const entries = await walkTree(p.dir, prefix);
    checkNoOverlap(entries, commonByPath, key);
    const imagePath = entrypoint.slice(1);
    const hasEntrypoint = entries.some((e) => e.path === imagePath) || commonByPath.has(imagePath);
    if (!hasEntrypoint) {
      throw new MinerhaulError('E_CONFIG', `entrypoint ${entrypoint} is not in the image for ${key}`);
    }
    platforms.push({ platform: p.platform, entries });
  }

  const annotations: Record<string, string> = { [ANNOTATION_CREATED]: created };
  if (options.revision !== undefined) annotations[ANNOTATION_REVISION] = options.revision;
  if (options.source !== undefined) annotations[ANNOTATION_SOURCE] = options.source;
  annotations[ANNOTATION_VERSION] = options.version;

  return {
    epoch,
    created,
    compression: options.compression ?? 'gzip',
    entrypoint,
    workingDir: prefix,
    tag,
    annotations,
    ...(commonEntries !== undefined ? { commonEntries } : {}),
    platforms,
  };
}

/** A path in both the common and a platform layer would be shadowed silently: refuse it. */
function checkNoOverlap(entries: TreeEntry[], common: Map<string, TreeEntry>, platform: string): void {
  for (const e of entries) {
    const other = common.get(e.path.replace(/\/$/, ''));
    if (other === undefined) continue;
    if (other.type === 'directory' && e.type === 'directory') continue;
    throw new MinerhaulError('E_CONFIG', `/${e.path} is both in --common and in the ${platform} directory`);
  }
}

async function uploadBlob(
  store: ImageStore,
  descriptor: Descriptor,
  path: string,
  onProgress?: (e: ProgressEvent) => void,
): Promise<void> {
  await store.putBlob(descriptor, () => createReadStream(path, { highWaterMark: 1024 * 1024 }), {
    ...(onProgress ? { onProgress } : {}),
  });
}

function bufferStream(bytes: Buffer): Readable {
  return Readable.from([bytes]);
}

/** Parses `OS/ARCH[/VARIANT]=DIR`; a bare DIR means linux/arm64, the gateways' platform. */
export function parsePlatformSource(spec: string): PlatformSource {
  const eq = spec.indexOf('=');
  if (eq < 0) return { platform: { os: 'linux', architecture: 'arm64' }, dir: spec };
  const dir = spec.slice(eq + 1);
  const parts = spec.slice(0, eq).split('/');
  const [os, architecture, variant] = parts;
  const valid = /^[a-z0-9_.-]+$/;
  if (
    parts.length < 2 ||
    parts.length > 3 ||
    dir.length === 0 ||
    !parts.every((p) => valid.test(p)) ||
    os === undefined ||
    architecture === undefined
  ) {
    throw new MinerhaulError('E_CONFIG', `invalid --platform '${spec}': expected OS/ARCH[/VARIANT]=DIR`);
  }
  return { platform: { os, architecture, ...(variant ? { variant } : {}) }, dir };
}

/** reproducible-builds.org SOURCE_DATE_EPOCH: a non-negative integer number of seconds. */
export function sourceDateEpochFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,12}$/.test(raw)) throw new MinerhaulError('E_CONFIG', `invalid SOURCE_DATE_EPOCH '${raw}'`);
  return Number(raw);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
