// The agent uses the one error model of minerhaul (signing/src/errors.ts).
export {
  ERROR_CODES,
  MinerhaulError,
  isMinerhaulError,
  withContext,
  type ErrorCode,
} from '@minerhaul/signing';
