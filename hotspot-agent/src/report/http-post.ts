import { request as httpRequest } from 'node:http';

export interface PostResult {
  status: number;
  body: string;
}

/**
 * A small POST over node:http(s): lighter than fetch (undici), which the agent would otherwise load
 * only for reports. Network failures reject; any HTTP status resolves.
 */
export function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostResult> {
  const target = new URL(url);
  // node:https (and TLS) is loaded only for an https fleet URL.
  const request =
    target.protocol === 'https:'
      ? (require('node:https') as typeof import('node:https')).request
      : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          // The answer is only read for a log line: cap it.
          size += chunk.length;
          if (size <= 16_384) chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target.origin} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
