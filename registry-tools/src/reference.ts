import { isAbsolute, resolve } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';

/** Distribution-spec "Pulling manifests" grammar for names and tags. */
const NAME_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export const DOCKER_HUB_HOST = 'registry-1.docker.io';

export type ImageReference =
  | {
      kind: 'registry';
      /** Host and optional port the API is reached at (`registry-1.docker.io` for Docker Hub). */
      registry: string;
      repository: string;
      tag?: string;
      digest?: string;
      /** `docker.io/library/x` for Docker Hub, else `registry/repository`: what statements name. */
      identity: string;
    }
  | { kind: 'oci-layout'; dir: string; tag?: string; digest?: string; identity: string }
  | { kind: 'https-layout'; url: string; tag?: string; digest?: string; identity: string };

function bad(input: string, why: string): MinerhaulError {
  return new MinerhaulError('E_CONFIG', `invalid image reference "${input}": ${why}`);
}

/** Split `rest` into (name, tag?, digest?) at `@digest` or a `:tag` after the last `/`. */
function splitTagDigest(input: string, rest: string): { name: string; tag?: string; digest?: string } {
  let name = rest;
  let tag: string | undefined;
  let digest: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw bad(input, `"${digest}" is not a sha256/sha512 digest`);
  }
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(input, `"${tag}" is not a valid tag`);
  }
  return { name, tag, digest };
}

function isHostComponent(part: string): boolean {
  return part.includes('.') || part.includes(':') || part === 'localhost' || /^\[.*\]/.test(part);
}

/**
 * Parse `HOST[:PORT]/PATH[:TAG|@DIGEST]`, Docker Hub short names (`busybox` → registry-1.docker.io/
 * library/busybox), `oci-layout:DIR[:TAG|@DIGEST]` and `https://HOST/PATH/LAYOUT[:TAG|@DIGEST]`.
 * With neither tag nor digest the reference means `latest` to callers that need one.
 */
export function parseReference(input: string): ImageReference {
  if (input.trim() !== input || input === '') throw bad(input, 'empty or padded with spaces');
  if (input.startsWith('oci-layout:')) {
    const rest = input.slice('oci-layout:'.length);
    if (rest === '') throw bad(input, 'missing directory');
    const { name, tag, digest } = splitTagDigest(input, rest);
    if (name === '') throw bad(input, 'missing directory');
    const dir = isAbsolute(name) ? name : resolve(name);
    return { kind: 'oci-layout', dir, tag, digest, identity: `oci-layout:${dir}` };
  }
  if (/^https?:\/\//.test(input)) {
    const origin = /^https?:\/\/[^/]*/.exec(input)?.[0] ?? '';
    const { name, tag, digest } = splitTagDigest(input, input.slice(origin.length));
    let url: URL;
    try {
      url = new URL(`${origin}${name}`);
    } catch (cause) {
      throw new MinerhaulError('E_CONFIG', `invalid image reference "${input}": not a URL`, { cause });
    }
    if (url.search || url.hash || url.username || url.password)
      throw bad(input, 'no query, fragment or userinfo');
    const base = url.toString().replace(/\/+$/, '');
    return { kind: 'https-layout', url: base, tag, digest, identity: base.replace(/^https?:\/\//, '') };
  }
  const firstSlash = input.indexOf('/');
  const first = firstSlash >= 0 ? input.slice(0, firstSlash) : '';
  let registry: string;
  let remainder: string;
  if (firstSlash >= 0 && isHostComponent(first)) {
    registry = first;
    remainder = input.slice(firstSlash + 1);
  } else {
    registry = DOCKER_HUB_HOST;
    remainder = input;
  }
  const { name, tag, digest } = splitTagDigest(input, remainder);
  let repository = name;
  const hub = registry === DOCKER_HUB_HOST || registry === 'docker.io' || registry === 'index.docker.io';
  if (hub) {
    registry = DOCKER_HUB_HOST;
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  if (!NAME_RE.test(repository)) throw bad(input, `"${repository}" is not a valid repository name`);
  if (!/^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/.test(registry)) {
    throw bad(input, `"${registry}" is not a valid registry host`);
  }
  if (`${registry}/${repository}`.length > 255) throw bad(input, 'longer than 255 characters');
  const identity = hub ? `docker.io/${repository}` : `${registry}/${repository}`;
  return { kind: 'registry', registry, repository, tag, digest, identity };
}

/** The tag or digest to resolve: the digest when both are given (it is what was pinned), else `latest`. */
export function referenceTarget(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Render a parsed reference back to its canonical text. */
export function formatReference(ref: ImageReference): string {
  const suffix = `${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
  switch (ref.kind) {
    case 'registry':
      return `${ref.registry}/${ref.repository}${suffix}`;
    case 'oci-layout':
      return `oci-layout:${ref.dir}${suffix}`;
    case 'https-layout':
      return `${ref.url}${suffix}`;
  }
}

/** Hosts where plain HTTP is allowed without --insecure. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}
