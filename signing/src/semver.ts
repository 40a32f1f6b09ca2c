// Semantic Versioning 2.0.0 (semver.org §2, §9, §10, §11), just what minAgentVersion needs.
const NUM = '(?:0|[1-9]\\d*)';
const PRE_ID = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)';
const BUILD_ID = '[0-9a-zA-Z-]+';
export const SEMVER_PATTERN = `^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`;
const SEMVER_RE = new RegExp(SEMVER_PATTERN);

export function isSemver(version: string): boolean {
  return SEMVER_RE.test(version);
}

/** Precedence comparison (§11): negative when a < b, 0 when equal, positive when a > b; build metadata ignored. */
export function compareSemver(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa.core[i] ?? 0n) - (pb.core[i] ?? 0n);
    if (d !== 0n) return d < 0n ? -1 : 1;
  }
  // A pre-release sorts before its release (§11.3).
  if (pa.pre.length === 0 && pb.pre.length === 0) return 0;
  if (pa.pre.length === 0) return 1;
  if (pb.pre.length === 0) return -1;
  for (let i = 0; i < Math.max(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i];
    const y = pb.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const c = comparePreId(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

function parse(version: string): { core: bigint[]; pre: string[] } {
  const m = SEMVER_RE.exec(version);
  if (m === null) throw new TypeError(`not a semantic version: ${version}`);
  return {
    core: [BigInt(m[1] ?? 0), BigInt(m[2] ?? 0), BigInt(m[3] ?? 0)],
    pre: m[4] === undefined ? [] : m[4].split('.'),
  };
}

function comparePreId(x: string, y: string): number {
  const xn = /^\d+$/.test(x);
  const yn = /^\d+$/.test(y);
  if (xn && yn) {
    const d = BigInt(x) - BigInt(y);
    return d === 0n ? 0 : d < 0n ? -1 : 1;
  }
  // Numeric identifiers sort before alphanumeric ones (§11.4.3).
  if (xn !== yn) return xn ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}
