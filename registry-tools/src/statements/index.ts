export * from './statement-artifact';
export * from './statement-store';
export * from './statement-verify';
export { ensureReferrerListed } from './referrers-fallback';
