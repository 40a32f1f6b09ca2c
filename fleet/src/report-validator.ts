import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { DeviceReport } from './device-report';

export interface SchemaIssue {
  /** JSON pointer of the offending value, '' for the document itself. */
  path: string;
  message: string;
}

export type ReportValidation = { ok: true; report: DeviceReport } | { ok: false; issues: SchemaIssue[] };

// Compiled once per process: compiling costs milliseconds, validating microseconds.
const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['date-time']);
const validate = ajv.compile(DeviceReport);

/** Checks a parsed JSON value against the published report schema (STYLE.md: every failure with its path). */
export function validateReport(value: unknown): ReportValidation {
  if (validate(value)) return { ok: true, report: value as DeviceReport };
  const issues = (validate.errors ?? []).map((e) => ({
    path: e.instancePath,
    message: e.message ?? e.keyword,
  }));
  return { ok: false, issues };
}
