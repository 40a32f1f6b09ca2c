import type { SecretKey } from '@minerhaul/signing';
import { ERROR_CODES, MinerhaulError, type ErrorCode } from '../errors';
import { signOwnerRequest } from './owner-request';

export interface OwnerConfigResult {
  changed: string[];
  config: unknown;
}

/**
 * The owner's side of PUT /v1/config: signs the patch with the owner's signify key and sends it to
 * the agent's local API (`minerhaul agent config`). A refusal comes back as the agent's own code.
 */
export async function sendOwnerConfig(
  apiUrl: string,
  secretKey: SecretKey,
  patch: unknown,
): Promise<OwnerConfigResult> {
  const path = '/v1/config';
  const headers = signOwnerRequest(secretKey, { method: 'PUT', path, body: patch });
  let res: Response;
  try {
    res = await fetch(new URL(path, apiUrl), {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(patch),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    throw new MinerhaulError(
      'E_CONFIG',
      `cannot reach the agent API at ${apiUrl}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string; errors?: string[] } } | undefined)
      ?.error;
    // The agent's own stable code comes back as it is; anything else (a proxy's page) is E_CONFIG.
    const code = isErrorCode(error?.code) ? error.code : 'E_CONFIG';
    throw new MinerhaulError(
      code,
      `agent refused the change (HTTP ${res.status}): ${error?.message ?? text.slice(0, 200)}`,
      {
        details: { status: res.status, ...(error?.errors ? { errors: error.errors } : {}) },
      },
    );
  }
  return body as OwnerConfigResult;
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
