import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool } from './require-tool';

export interface TestCa {
  caCertPath: string;
  caKeyPath: string;
}

export interface TestCert {
  certPath: string;
  keyPath: string;
}

function openssl(args: string[]): void {
  execFileSync(requireTool('openssl'), args, { stdio: 'pipe' });
}

/** A self-signed EC P-256 CA made with openssl, valid for a day. */
export function makeCa(dir: string, name = 'minerhaul test CA'): TestCa {
  const caKeyPath = join(dir, 'ca.key');
  const caCertPath = join(dir, 'ca.crt');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKeyPath]);
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    caKeyPath,
    '-sha256',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-out',
    caCertPath,
  ]);
  return { caCertPath, caKeyPath };
}

/** A server certificate for 127.0.0.1/localhost signed by `ca`. */
export function makeServerCert(dir: string, ca: TestCa, name = 'server'): TestCert {
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const certPath = join(dir, `${name}.crt`);
  const extPath = join(dir, `${name}.ext`);
  writeFileSync(extPath, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath]);
  openssl(['req', '-new', '-key', keyPath, '-subj', '/CN=127.0.0.1', '-out', csrPath]);
  openssl([
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    ca.caCertPath,
    '-CAkey',
    ca.caKeyPath,
    '-CAcreateserial',
    '-days',
    '1',
    '-sha256',
    '-extfile',
    extPath,
    '-out',
    certPath,
  ]);
  return { certPath, keyPath };
}
