import { MinerhaulError } from './errors';
import type { PublicKey } from './public-key';
import { parseSignature, verifyParsed } from './signature';

export interface ThresholdResult {
  /** Key numbers (hex) of the distinct trusted keys with a valid signature, one per distinct key, in signature order. */
  validKeyNumbers: string[];
}

/**
 * k-of-n verification (DESIGN.md "Keys, signatures, release statements"): at least `threshold`
 * distinct trusted keys must each have a valid signature over `message`. One key counts once however
 * many signatures it made; garbled or untrusted signatures are skipped, and only reported when the
 * threshold is missed (E_SIGNATURE). A threshold that can never be met is E_CONFIG.
 */
export function verifyThreshold(
  publicKeys: PublicKey[],
  message: Buffer,
  signatureTexts: (string | Buffer)[],
  threshold: number,
): ThresholdResult {
  const keys = publicKeys;
  // Distinct by the Ed25519 key itself: the key number is not signed, so one key listed under two
  // numbers must still count once.
  const distinct = new Set(keys.map((k) => k.key.toString('hex'))).size;
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new MinerhaulError('E_CONFIG', `threshold must be an integer >= 1 (got ${threshold})`);
  }
  if (threshold > distinct) {
    throw new MinerhaulError(
      'E_CONFIG',
      `threshold ${threshold} can never be met by ${distinct} distinct trusted key(s)`,
    );
  }
  const satisfied = new Map<string, string>();
  const problems: string[] = [];
  signatureTexts.forEach((text, index) => {
    const label = `signature ${index + 1}`;
    let sig;
    try {
      sig = parseSignature(text);
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message}`);
      return;
    }
    // The key number only selects candidates (§4.5); two trusted keys could share one.
    const candidates = keys.filter((k) => k.keyNumber.equals(sig.keyNumber));
    if (candidates.length === 0) {
      problems.push(`${label}: made by key ${sig.keyNumberHex}, which is not trusted`);
      return;
    }
    const good = candidates.find((k) => {
      try {
        verifyParsed(k, message, sig);
        return true;
      } catch {
        return false;
      }
    });
    if (good === undefined) problems.push(`${label}: invalid signature by key ${sig.keyNumberHex}`);
    else if (!satisfied.has(good.key.toString('hex')))
      satisfied.set(good.key.toString('hex'), good.keyNumberHex);
  });
  const validKeyNumbers = [...satisfied.values()];
  if (validKeyNumbers.length < threshold) {
    const found = signatureTexts.length === 0 ? 'no signatures' : `${validKeyNumbers.length} valid`;
    throw new MinerhaulError(
      'E_SIGNATURE',
      `need valid signatures from ${threshold} distinct trusted key(s), found ${found}` +
        (problems.length > 0 ? ` (${problems.join('; ')})` : ''),
      { details: { threshold, validKeyNumbers, problems } },
    );
  }
  return { validKeyNumbers };
}
