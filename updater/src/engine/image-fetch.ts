import type { Descriptor, ImageStore, Platform } from '@minerhaul/registry-tools';
import {
  formatPlatform,
  normalizePlatform,
  parseManifest,
  parsePlatform,
  selectPlatform,
} from '@minerhaul/registry-tools';
import { MinerhaulError } from '@minerhaul/signing';
import type { ManifestSelector, PlatformManifest } from './ports';
import type { StagedRelease } from './release-record';

/** Image configs are small JSON documents; refuse anything absurd before parsing (trust boundary). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** The platform this process runs on, in OCI terms (image-spec config.md `architecture` values). */
export function hostPlatform(): string {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm/v7', ia32: '386' };
  return `linux/${arch[process.arch] ?? process.arch}`;
}

/**
 * Lifecycle step 5 of protocol-reference §1.11: GET the verified digest, and when it names an index,
 * select this platform's manifest (E_PLATFORM when absent). Both GETs are digest-checked by the store.
 */
export async function selectPlatformManifest(
  store: ImageStore,
  digest: string,
  platform: Platform | string,
  signal?: AbortSignal,
): Promise<PlatformManifest> {
  const top = await getManifestOrThrow(store, digest, signal);
  const parsed = parseManifest(top.bytes, top.descriptor.mediaType);
  if (parsed.kind === 'manifest') {
    return {
      manifestDigest: digest,
      config: parsed.manifest.config,
      layers: parsed.manifest.layers,
      expectPlatform: normalizePlatform(typeof platform === 'string' ? parsePlatform(platform) : platform),
    };
  }
  const chosen = selectPlatform(parsed.index, platform);
  const child = await getManifestOrThrow(store, chosen.digest, signal);
  const inner = parseManifest(child.bytes, child.descriptor.mediaType);
  if (inner.kind !== 'manifest') {
    throw new MinerhaulError('E_REGISTRY', `${chosen.digest}: nested indexes are not supported`);
  }
  return { manifestDigest: chosen.digest, config: inner.manifest.config, layers: inner.manifest.layers };
}

export function platformSelector(platform: Platform | string = hostPlatform()): ManifestSelector {
  return { select: (store, digest, signal) => selectPlatformManifest(store, digest, platform, signal) };
}

export interface ImageConfigInfo {
  /** rootfs.diff_ids, one per layer, in order (image-spec config.md). */
  diffIds: string[];
  config: StagedRelease['config'];
}

/** Reads and checks the image config blob: diff_ids must pair one-to-one with the layers. */
export async function readImageConfig(
  store: ImageStore,
  manifest: PlatformManifest,
  signal?: AbortSignal,
): Promise<ImageConfigInfo> {
  if (manifest.config.size > MAX_CONFIG_BYTES) {
    throw new MinerhaulError('E_REGISTRY', `image config ${manifest.config.digest} is too large`);
  }
  const stream = await store.openBlob(manifest.config, signal ? { signal } : {});
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return parseImageConfig(Buffer.concat(chunks), manifest.layers, manifest.expectPlatform);
}

export function parseImageConfig(
  bytes: Buffer,
  layers: readonly Descriptor[],
  expectPlatform?: Platform,
): ImageConfigInfo {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MinerhaulError('E_REGISTRY', 'image config is not JSON', { cause: err });
  }
  const c = doc as {
    os?: unknown;
    architecture?: unknown;
    variant?: unknown;
    rootfs?: { type?: unknown; diff_ids?: unknown };
    config?: { Entrypoint?: unknown; Cmd?: unknown; Env?: unknown; WorkingDir?: unknown; User?: unknown };
  } | null;
  const diffIds = c?.rootfs?.diff_ids;
  if (
    !Array.isArray(diffIds) ||
    !diffIds.every((d) => typeof d === 'string' && /^sha256:[a-f0-9]{64}$/.test(d))
  ) {
    throw new MinerhaulError('E_REGISTRY', 'image config has no valid rootfs.diff_ids');
  }
  if (diffIds.length !== layers.length) {
    throw new MinerhaulError(
      'E_REGISTRY',
      `image config lists ${diffIds.length} diff_ids for ${layers.length} layers`,
    );
  }
  if (expectPlatform !== undefined) checkConfigPlatform(c ?? {}, expectPlatform);
  const p = c?.config ?? {};
  return {
    diffIds: diffIds as string[],
    config: {
      entrypoint: strings(p.Entrypoint, 'Entrypoint'),
      cmd: strings(p.Cmd, 'Cmd'),
      env: strings(p.Env, 'Env'),
      ...(typeof p.WorkingDir === 'string' && p.WorkingDir !== '' ? { workingDir: p.WorkingDir } : {}),
      ...(typeof p.User === 'string' && p.User !== '' ? { user: p.User } : {}),
    },
  };
}

function checkConfigPlatform(
  c: { os?: unknown; architecture?: unknown; variant?: unknown },
  want: Platform,
): void {
  const wanted = normalizePlatform(want);
  const got =
    typeof c.os === 'string' && typeof c.architecture === 'string'
      ? normalizePlatform({
          os: c.os,
          architecture: c.architecture,
          ...(typeof c.variant === 'string' ? { variant: c.variant } : {}),
        })
      : undefined;
  if (
    got === undefined ||
    got.os !== wanted.os ||
    got.architecture !== wanted.architecture ||
    (got.variant ?? '') !== (wanted.variant ?? '')
  ) {
    throw new MinerhaulError(
      'E_PLATFORM',
      `image is for ${got ? formatPlatform(got) : 'an unknown platform'}, not ${formatPlatform(wanted)}`,
    );
  }
}

function strings(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new MinerhaulError('E_REGISTRY', `image config ${field} must be a list of strings`);
  }
  return value as string[];
}

async function getManifestOrThrow(store: ImageStore, reference: string, signal?: AbortSignal) {
  const got = await store.getManifest(reference, signal);
  if (got === undefined) {
    throw new MinerhaulError('E_NOT_FOUND', `${store.location}@${reference}: no such manifest`);
  }
  return got;
}
