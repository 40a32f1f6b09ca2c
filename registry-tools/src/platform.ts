import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor, Platform } from './image-store';
import { isIndexMediaType, isManifestMediaType, type ImageIndex } from './manifest';

/** Parse `os/arch[/variant]` (e.g. `linux/arm64`, `linux/arm/v7`); E_CONFIG otherwise. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  const [os, architecture, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !os || !architecture || (parts.length === 3 && !variant)) {
    throw new MinerhaulError('E_CONFIG', `invalid platform "${text}": expected os/arch[/variant]`);
  }
  return normalizePlatform(variant ? { os, architecture, variant } : { os, architecture });
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * containerd's normalisation (platforms/database.go normalizeArch): aarch64 → arm64 with variants
 * 8, v8, v8.0 → none; x86_64 → amd64; armhf → arm/v7; arm without variant → v7.
 */
export function normalizePlatform(p: Platform): Platform {
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  switch (architecture) {
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = undefined;
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = undefined;
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === undefined || variant === '' || variant === '7') variant = 'v7';
      else if (/^\d$/.test(variant)) variant = `v${variant}`;
      break;
  }
  const out: Platform = { os: p.os.toLowerCase(), architecture };
  if (variant) out.variant = variant;
  return out;
}

/** BuildKit attestation entries share the index with `unknown/unknown` (protocol-reference §2.3). */
function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
  );
}

function matches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  const c = normalizePlatform(candidate);
  return (
    c.os === wanted.os &&
    c.architecture === wanted.architecture &&
    (c.variant ?? '') === (wanted.variant ?? '')
  );
}

/**
 * Choose the manifest for `wanted` in an index: exact normalised match, first one wins (image-spec
 * image-index.md). Entries of unknown media types and attestations are skipped; no fallback to 32-bit
 * arm. E_PLATFORM when nothing fits, listing what the index offers.
 */
export function selectPlatform(index: ImageIndex, wanted: Platform | string): Descriptor {
  const want = normalizePlatform(typeof wanted === 'string' ? parsePlatform(wanted) : wanted);
  const candidates = index.manifests.filter(
    (d) => (isManifestMediaType(d.mediaType) || isIndexMediaType(d.mediaType)) && !isAttestation(d),
  );
  const found = candidates.find((d) => matches(want, d.platform));
  if (found) return found;
  const offered = candidates
    .filter((d) => d.platform)
    .map((d) => formatPlatform(normalizePlatform(d.platform!)));
  throw new MinerhaulError(
    'E_PLATFORM',
    `no image for ${formatPlatform(want)} (offered: ${offered.join(', ') || 'none'})`,
    {
      details: { wanted: formatPlatform(want), offered },
    },
  );
}
