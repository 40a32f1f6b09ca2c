import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { generateKeyPair } from '@minerhaul/signing';
import { main } from '@minerhaul/cli';
import { type RunningRegistry, DEFAULT_USERS, startRegistry } from '../../../test/support/registry';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { makeBusyboxTree } from '../publish/fixtures';

jest.setTimeout(120_000);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real command-line program in-process with captured output (the CLI's own test seam). */
async function cli(args: string[], stdin = '', env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'minerhaul', ...args], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { SOURCE_DATE_EPOCH: '1700000000', ...env },
    stdin: Readable.from([stdin]),
    stdoutIsTty: false,
  });
  return { code, stdout, stderr };
}

describe('registry commands (minerhaul build, push, sign, verify, promote, inspect, copy)', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let registry: RunningRegistry;
  let basic: RunningRegistry;
  let layout: string;
  let secret: string;
  let pub: string;
  let otherPub: string;
  let digest: string;

  beforeAll(async () => {
    tmp = makeTmpDir();
    [registry, basic] = await Promise.all([startRegistry(), startRegistry({ auth: 'htpasswd' })]);
    const keys = join(tmp.path, 'keys');
    mkdirSync(keys);
    const pair = generateKeyPair({});
    secret = join(keys, 'maintainer.sec');
    pub = join(keys, 'maintainer.pub');
    otherPub = join(keys, 'other.pub');
    writeFileSync(secret, pair.secretKey, { mode: 0o600 });
    writeFileSync(pub, pair.publicKey);
    writeFileSync(otherPub, generateKeyPair({}).publicKey);
    layout = join(tmp.path, 'layout');
  });
  afterAll(async () => {
    await Promise.all([registry?.stop(), basic?.stop()]);
    tmp?.cleanup();
  });

  it('build writes a reproducible image into an OCI layout', async () => {
    const tree = makeBusyboxTree(tmp.path);
    const args = [
      '--json',
      'build',
      '--platform',
      `linux/arm64=${tree}`,
      '--platform',
      `linux/amd64=${tree}`,
      '--version=1.0.0',
      '--entrypoint',
      'bin/busybox',
    ];
    const first = await cli([...args, '--output', `oci-layout:${layout}:1.0.0`]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const again = await cli([
      ...args,
      '--compression',
      'gzip',
      '--output',
      `oci-layout:${join(tmp.path, 'again')}:1.0.0`,
    ]);
    const a = JSON.parse(first.stdout) as { digest: string; tag: string; manifests: unknown[] };
    expect(a.tag).toBe('1.0.0');
    expect(a.manifests).toHaveLength(2);
    expect((JSON.parse(again.stdout) as { digest: string }).digest).toBe(a.digest);
    digest = a.digest;
  });

  it('build refuses a bad --compression with error[E_CONFIG] and exit status 2', async () => {
    const r = await cli([
      'build',
      '--platform',
      tmp.path,
      '--version=1',
      '--compression',
      'xz',
      '--output',
      `oci-layout:${layout}:x`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[E_CONFIG\]/);
  });

  it('push moves the image to a registry and reports JSON progress lines on stderr', async () => {
    const r = await cli(['--json', 'push', `oci-layout:${layout}:1.0.0`, `${registry.host}/acme/miner:beta`]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { digest: string }).digest).toBe(digest);
    const events = r.stderr
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events).toContain('start');
    expect(events).toContain('done');
  });

  it('push reads the password from stdin for --username', async () => {
    const [user, password] = Object.entries(DEFAULT_USERS)[0] ?? ['', ''];
    const ok = await cli(
      [
        'push',
        '--username',
        user,
        '--password-stdin',
        `oci-layout:${layout}:1.0.0`,
        `${basic.host}/miner:1.0.0`,
      ],
      `${password}\n`,
    );
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const refused = await cli(
      [
        'push',
        '--username',
        user,
        '--password-stdin',
        `oci-layout:${layout}:1.0.0`,
        `${basic.host}/miner:1.0.0`,
      ],
      'wrong\n',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error\[E_AUTH\]/);
  });

  it('push refuses --username without --password-stdin with E_CONFIG', async () => {
    const r = await cli([
      'push',
      '--username',
      'x',
      `oci-layout:${layout}:1.0.0`,
      `${basic.host}/miner:1.0.0`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[E_CONFIG\]/);
  });

  it('sign, verify, promote and inspect work end to end', async () => {
    const ref = `${registry.host}/acme/miner:beta`;
    const signed = await cli(['--json', 'sign', '--key', secret, '--rollout', '25', '--expires', '30d', ref]);
    expect(signed.stderr).toBe('');
    const statement = (
      JSON.parse(signed.stdout) as { statement: { channel: string; sequence: number; rollout: number } }
    ).statement;
    expect(statement).toMatchObject({ channel: 'beta', sequence: 1, rollout: 25 });

    const verified = await cli(['verify', '--key', pub, ref]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`"digest":"${digest}"`);

    const untrusted = await cli(['verify', '--key', otherPub, ref]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^error\[E_SIGNATURE\]/);

    const promoted = await cli(['--json', 'promote', ref, 'stable', '--key', secret]);
    expect(promoted.code).toBe(0);
    expect((JSON.parse(promoted.stdout) as { digest: string }).digest).toBe(digest);
    expect((await cli(['verify', '--key', pub, `${registry.host}/acme/miner:stable`])).code).toBe(0);

    const inspected = await cli(['--json', 'inspect', `${registry.host}/acme/miner:stable`]);
    const info = JSON.parse(inspected.stdout) as {
      digest: string;
      version: string;
      platforms: unknown[];
      signatures: unknown[];
    };
    expect(info).toMatchObject({ digest, version: '1.0.0' });
    expect(info.platforms).toHaveLength(2);
    expect(info.signatures).toHaveLength(2);
  });

  it('copy carries the signatures into an OCI layout, where verify accepts them under --identity', async () => {
    const bundle = join(tmp.path, 'bundle');
    const r = await cli(['copy', `${registry.host}/acme/miner:stable`, `oci-layout:${bundle}:stable`]);
    expect(r.code).toBe(0);
    const v = await cli([
      'verify',
      '--key',
      pub,
      '--identity',
      `${registry.host}/acme/miner`,
      `oci-layout:${bundle}:stable`,
    ]);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
  });

  it('sign --identity names the public repository in a statement signed inside an OCI layout', async () => {
    const ref = `oci-layout:${layout}:1.0.0`;
    const identity = 'updates.example.org/acme/miner';
    const signed = await cli(['--json', 'sign', '--key', secret, '--identity', identity, ref]);
    expect(signed.stderr).toBe('');
    expect((JSON.parse(signed.stdout) as { statement: { repository: string } }).statement.repository).toBe(
      identity,
    );
    expect((await cli(['verify', '--key', pub, '--identity', identity, ref])).code).toBe(0);
    const wrong = await cli(['verify', '--key', pub, ref]);
    expect(wrong.stderr).toMatch(/^error\[E_STATEMENT\]/);
  });

  it.each([
    [['sign', '--key', 'KEY', 'REF:beta', '--rollout', '150'], 'E_CONFIG', 2],
    [['sign', '--key', 'KEY', 'REF:beta', '--sequence', '-1'], 'E_CONFIG', 2],
    [['sign', '--key', 'KEY', 'REF:beta', '--expires', 'soon'], 'E_CONFIG', 2],
    [['sign', '--key', '/nonexistent.sec', 'REF:beta'], 'E_KEY', 1],
    [['inspect', 'REF:no-such-tag'], 'E_NOT_FOUND', 1],
    [['promote', 'REF:beta', 'bad tag!', '--key', 'KEY'], 'E_CONFIG', 2],
    [['inspect', 'not a reference'], 'E_CONFIG', 2],
  ])('%j fails with error[%s]', async (args, code, status) => {
    const resolved = args.map((a) =>
      a.replace('REF', `${registry.host}/acme/miner`).replace(/^KEY$/, secret),
    );
    const r = await cli(resolved);
    expect(r.stderr).toMatch(new RegExp(`^error\\[${code}\\]`));
    expect(r.code).toBe(status);
  });
});
