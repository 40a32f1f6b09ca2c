export * from './errors';
export { MINERHAUL_VERSION } from './version';
export {
  type PublicKey,
  parsePublicKey,
  loadPublicKey,
  formatPublicKey,
  publicKeyLine,
  isPublicKeyLine,
} from './public-key';
export {
  type SecretKey,
  decryptSecretKey,
  encryptSecretKey,
  secretKeyNeedsPassphrase,
  DEFAULT_KDF_ROUNDS,
  MAX_KDF_ROUNDS,
} from './secret-key';
export {
  type GenerateKeyPairOptions,
  type GeneratedKeyPair,
  generateKeyPair,
  DEFAULT_KEY_COMMENT,
} from './key-pair';
export {
  type Signature,
  parseSignature,
  signMessage,
  signEmbedded,
  verifyMessage,
  verifyEmbedded,
  MAX_MESSAGE_BYTES,
} from './signature';
export { type ThresholdResult, verifyThreshold } from './threshold-verify';
export { canonicalJson } from './canonical-json';
export {
  ReleaseStatement,
  type StatementFields,
  type SchemaProblem,
  RELEASE_STATEMENT_TYPE,
  createStatement,
  encodeStatement,
  parseStatement,
} from './release-statement';
export { type VerifyReleaseInput, verifyRelease } from './release-verify';
export { rolloutBucket, isInRollout } from './rollout';
export { isSemver, compareSemver } from './semver';
export { bcryptPbkdf } from './bcrypt-pbkdf';
export { writeKeyPairFiles, readKeyFile, readSignatureFile, readMessageFile } from './key-files';
export { asGeneratedValidator, type GeneratedValidator, type SchemaError } from './generated-validator';
