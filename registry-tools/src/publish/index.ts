export * from './copy-image';
export * from './sign-image';
export * from './verify-image';
export * from './promote-image';
export * from './inspect-image';
export { highestSequence } from './next-sequence';
export { parseExpiry } from './duration';
