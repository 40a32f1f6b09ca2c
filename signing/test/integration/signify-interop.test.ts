import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  createStatement,
  decryptSecretKey,
  encodeStatement,
  generateKeyPair,
  parsePublicKey,
  signEmbedded,
  signMessage,
  verifyEmbedded,
  verifyMessage,
  verifyRelease,
} from '@minerhaul/signing';
import { main } from '@minerhaul/cli';
import { requireTool } from '../../../test/support/require-tool';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { codeOf } from '../vectors';

// Interop with Debian's signify-openbsd, both directions (protocol-reference §4).
const signify = requireTool('signify-openbsd');
const python = requireTool('python3');
const ptyHelper = join(__dirname, 'support', 'pty-passphrase.py');
const TIMEOUT_MS = 20_000;

const tmp = makeTmpDir();
const p = (name: string): string => join(tmp.path, name);
afterAll(() => tmp.cleanup());

/** Runs signify without a terminal; returns its exit status and output. */
function runSignify(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(signify, args, {
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Runs signify on a pty that answers its passphrase prompts (signify reads them from /dev/tty only). */
function runSignifyOnPty(passphrase: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(python, [ptyHelper, String(TIMEOUT_MS / 1000 - 2), passphrase, signify, ...args], {
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function expectOk(r: { status: number | null; output: string }): void {
  expect({ status: r.status, output: r.output }).toMatchObject({ status: 0 });
}

describe('signify-openbsd interop', () => {
  const message = Buffer.from('minerhaul interop message\n');
  beforeAll(() => writeFileSync(p('msg.txt'), message));

  describe('when signify made an unencrypted key (-n)', () => {
    it('decrypts it and signs byte for byte as signify does, and each verifies the other', () => {
      expectOk(runSignify(['-G', '-n', '-c', 'plain', '-p', p('plain.pub'), '-s', p('plain.sec')]));
      expectOk(runSignify(['-S', '-s', p('plain.sec'), '-m', p('msg.txt'), '-x', p('signify.sig')]));
      const sec = decryptSecretKey(readFileSync(p('plain.sec')));
      const pub = parsePublicKey(readFileSync(p('plain.pub')));
      expect(sec.keyNumber).toEqual(pub.keyNumber);
      expect(sec.comment).toBe('plain secret key');
      const ours = signMessage(sec, message, 'verify with plain.pub');
      expect(ours).toBe(readFileSync(p('signify.sig'), 'utf8'));
      verifyMessage(pub, message, readFileSync(p('signify.sig')));
      writeFileSync(p('ours.sig'), ours);
      expectOk(runSignify(['-V', '-p', p('plain.pub'), '-m', p('msg.txt'), '-x', p('ours.sig')]));
    });
  });

  describe('when signify made a passphrase-protected key', () => {
    it('decrypts it with the passphrase only, and signs as signify does', () => {
      expectOk(runSignifyOnPty('tty secret', ['-G', '-c', 'enc', '-p', p('enc.pub'), '-s', p('enc.sec')]));
      expect(
        Buffer.from(readFileSync(p('enc.sec'), 'utf8').split('\n')[1] ?? '', 'base64').readUInt32BE(4),
      ).toBe(42);
      expectOk(
        runSignifyOnPty('tty secret', [
          '-S',
          '-s',
          p('enc.sec'),
          '-m',
          p('msg.txt'),
          '-x',
          p('enc-signify.sig'),
        ]),
      );
      const sec = decryptSecretKey(readFileSync(p('enc.sec')), 'tty secret');
      expect(signMessage(sec, message, 'verify with enc.pub')).toBe(
        readFileSync(p('enc-signify.sig'), 'utf8'),
      );
      expect(codeOf(() => decryptSecretKey(readFileSync(p('enc.sec')), 'tty secreT'))).toBe('E_KEY');
    });
  });

  describe('when minerhaul made the keys', () => {
    it('lets signify sign with an unencrypted one without a prompt and verifies that', () => {
      const pair = generateKeyPair({ comment: 'mh' });
      writeFileSync(p('mh.pub'), pair.publicKey);
      writeFileSync(p('mh.sec'), pair.secretKey, { mode: 0o600 });
      expectOk(runSignify(['-S', '-s', p('mh.sec'), '-m', p('msg.txt'), '-x', p('mh-signify.sig')]));
      verifyMessage(parsePublicKey(pair.publicKey), message, readFileSync(p('mh-signify.sig')));
      expect(readFileSync(p('mh-signify.sig'), 'utf8')).toBe(
        signMessage(decryptSecretKey(pair.secretKey), message, 'verify with mh.pub'),
      );
    });

    it('lets signify open an encrypted one with the passphrase and refuse a wrong one', () => {
      const pair = generateKeyPair({ comment: 'mhenc', passphrase: 'our secret' });
      writeFileSync(p('mhenc.pub'), pair.publicKey);
      writeFileSync(p('mhenc.sec'), pair.secretKey, { mode: 0o600 });
      const wrong = runSignifyOnPty('not it', [
        '-S',
        '-s',
        p('mhenc.sec'),
        '-m',
        p('msg.txt'),
        '-x',
        p('bad.sig'),
      ]);
      expect(wrong.status).not.toBe(0);
      expect(wrong.output).toContain('incorrect passphrase');
      expectOk(
        runSignifyOnPty('our secret', ['-S', '-s', p('mhenc.sec'), '-m', p('msg.txt'), '-x', p('mhenc.sig')]),
      );
      expectOk(runSignify(['-V', '-p', p('mhenc.pub'), '-m', p('msg.txt'), '-x', p('mhenc.sig')]));
      verifyMessage(parsePublicKey(pair.publicKey), message, readFileSync(p('mhenc.sig')));
    });

    it('has signify refuse a signature made by another key, as minerhaul does', () => {
      const other = generateKeyPair();
      writeFileSync(p('other.sig'), signMessage(decryptSecretKey(other.secretKey), message));
      const r = runSignify(['-V', '-p', p('plain.pub'), '-m', p('msg.txt'), '-x', p('other.sig')]);
      expect(r.status).not.toBe(0);
      expect(r.output).toContain('checked against wrong key');
      expect(
        codeOf(() =>
          verifyMessage(parsePublicKey(readFileSync(p('plain.pub'))), message, readFileSync(p('other.sig'))),
        ),
      ).toBe('E_SIGNATURE');
    });
  });

  describe('when embedded-mode signatures are used (-e)', () => {
    it("reads signify's and writes ones signify reads", () => {
      expectOk(runSignify(['-S', '-e', '-s', p('plain.sec'), '-m', p('msg.txt'), '-x', p('emb.sig')]));
      const pub = parsePublicKey(readFileSync(p('plain.pub')));
      expect(verifyEmbedded(pub, readFileSync(p('emb.sig')))).toEqual(message);
      writeFileSync(p('ours-emb.sig'), signEmbedded(decryptSecretKey(readFileSync(p('plain.sec'))), message));
      expectOk(
        runSignify(['-V', '-e', '-p', p('plain.pub'), '-x', p('ours-emb.sig'), '-m', p('emb-out.txt')]),
      );
      expect(readFileSync(p('emb-out.txt'))).toEqual(message);
    });
  });

  describe('when a release statement is signed', () => {
    it('is checkable with plain signify -V, and signify-made signatures pass verifyRelease', () => {
      const digest = `sha256:${'a1'.repeat(32)}`;
      const bytes = encodeStatement(
        createStatement({
          repository: 'localhost:5000/miner',
          digest,
          version: '1.0.0',
          channel: 'stable',
          sequence: 1,
        }),
      );
      writeFileSync(p('statement.json'), bytes);
      const sec = decryptSecretKey(readFileSync(p('mh.sec')));
      writeFileSync(p('statement.json.sig'), signMessage(sec, bytes));
      expectOk(
        runSignify(['-V', '-p', p('mh.pub'), '-m', p('statement.json'), '-x', p('statement.json.sig')]),
      );
      expectOk(
        runSignify(['-S', '-s', p('plain.sec'), '-m', p('statement.json'), '-x', p('statement2.sig')]),
      );
      const statement = verifyRelease({
        statement: bytes,
        signatures: [readFileSync(p('statement.json.sig')), readFileSync(p('statement2.sig'))],
        trustedKeys: [
          parsePublicKey(readFileSync(p('mh.pub'))),
          parsePublicKey(readFileSync(p('plain.pub'))),
        ],
        threshold: 2,
        expect: { repository: 'localhost:5000/miner', digest, channel: 'stable' },
      });
      expect(statement.sequence).toBe(1);
    });
  });

  describe('when the CLI is used against signify', () => {
    it('sign-blob output verifies with signify, and verify-blob accepts signify output', async () => {
      const io = {
        stdout: () => undefined,
        stderr: () => undefined,
        env: {},
        stdin: Object.assign(Readable.from([]), { isTTY: false }),
        stdoutIsTty: false,
      };
      expect(await main(['node', 'minerhaul', 'sign-blob', '--key', p('mh.sec'), p('msg.txt')], io)).toBe(0);
      expect(readFileSync(p('msg.txt.sig'), 'utf8')).toMatch(/^untrusted comment: verify with mh\.pub\n/);
      expectOk(runSignify(['-V', '-p', p('mh.pub'), '-m', p('msg.txt')]));
      const args = ['verify-blob', '--key', p('plain.pub'), '--signature', p('signify.sig'), p('msg.txt')];
      expect(await main(['node', 'minerhaul', ...args], io)).toBe(0);
    });
  });
});
