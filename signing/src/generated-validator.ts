/** One failure reported by a validator precompiled with ajv's standalone mode (ajv's ErrorObject). */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * The contract of the `*.generated.ts` validators (scripts/generate-validators.js): untyped
 * JavaScript that returns whether the value passed and leaves the failures on `errors`.
 */
export type GeneratedValidator = ((value: unknown) => boolean) & { errors?: SchemaError[] | null };

/** Types the untyped export of a generated validator module. */
export function asGeneratedValidator(validate: unknown): GeneratedValidator {
  return validate as GeneratedValidator;
}
