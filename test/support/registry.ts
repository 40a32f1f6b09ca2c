import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port';
import { requireTool } from './require-tool';
import { makeCa, makeServerCert } from './test-certs';
import { makeTmpDir } from './tmp-dir';

export interface StartRegistryOptions {
  /** `none` (open), `htpasswd` (Basic), or `token` (Bearer, verified against `token`). */
  auth?: 'none' | 'htpasswd' | 'token';
  /** Serve HTTPS with a fresh self-signed CA made with openssl. */
  tls?: boolean;
  /** htpasswd accounts (default `tester` / `s3cret`). */
  users?: Record<string, string>;
  /** For auth `token`: the token server's realm, service, issuer and signing certificate. */
  token?: { realm: string; service: string; issuer: string; certPath: string };
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, what references name. */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://…`. */
  url: string;
  caCertPath?: string;
  /** Path of the registry server's own certificate (a pin target). */
  serverCertPath?: string;
  stop(): Promise<void>;
}

export const DEFAULT_USERS = { tester: 's3cret' };

function yamlString(value: string): string {
  return JSON.stringify(value);
}

/** Poll until the registry answers HTTP at all (401 counts), at most ~10 s. */
async function waitUntilUp(url: string, caPath: string | undefined, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited early:\n${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const target = new URL('/v2/', url);
      const req =
        target.protocol === 'https:'
          ? httpsRequest(target, { ca: caPath ? readFileSync(caPath) : undefined })
          : httpRequest(target);
      req.on('response', (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
      req.end();
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not come up on ${url}:\n${log()}`);
}

/**
 * Start Debian's docker-registry (CNCF distribution 2.8) on a free 127.0.0.1 port with its own
 * storage: open, htpasswd Basic auth, token auth, each optionally over TLS.
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const binary = requireTool('docker-registry');
  const tmp = makeTmpDir('minerhaul-registry-');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${yamlString(join(tmp.path, 'data'))}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    '  secret: minerhaul-test-secret',
  ];
  let caCertPath: string | undefined;
  let serverCertPath: string | undefined;
  if (options.tls) {
    const ca = makeCa(tmp.path);
    const cert = makeServerCert(tmp.path, ca);
    caCertPath = ca.caCertPath;
    serverCertPath = cert.certPath;
    lines.push(
      '  tls:',
      `    certificate: ${yamlString(cert.certPath)}`,
      `    key: ${yamlString(cert.keyPath)}`,
    );
  }
  if (options.auth === 'htpasswd') {
    const htpasswd = requireTool('htpasswd');
    const entries = Object.entries(options.users ?? DEFAULT_USERS).map(([user, password]) =>
      execFileSync(htpasswd, ['-Bbn', user, password], { encoding: 'utf8' }).trim(),
    );
    const path = join(tmp.path, 'htpasswd');
    writeFileSync(path, `${entries.join('\n')}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: minerhaul-test', `    path: ${yamlString(path)}`);
  } else if (options.auth === 'token') {
    const token = options.token;
    if (!token) throw new Error('startRegistry: auth "token" needs the token server settings');
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${yamlString(token.realm)}`,
      `    service: ${yamlString(token.service)}`,
      `    issuer: ${yamlString(token.issuer)}`,
      `    rootcertbundle: ${yamlString(token.certPath)}`,
    );
  }
  const configPath = join(tmp.path, 'config.yml');
  writeFileSync(configPath, `${lines.join('\n')}\n`);
  const child = spawn(binary, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `${options.tls ? 'https' : 'http'}://${host}`;
  try {
    await waitUntilUp(url, caCertPath, child, () => output);
  } catch (err) {
    child.kill('SIGKILL');
    tmp.cleanup();
    throw err;
  }
  return {
    host,
    url,
    caCertPath,
    serverCertPath,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      tmp.cleanup();
    },
  };
}
