import { join } from 'node:path';
import {
  NonceStore,
  OWNER_HEADERS,
  OWNER_REQUEST_WINDOW_SECONDS,
  signOwnerRequest,
  verifyOwnerRequest,
} from '@minerhaul/hotspot-agent';
import { parsePublicKey } from '@minerhaul/signing';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { makeOwnerKey } from './helpers/agent-fixtures';

describe('verifyOwnerRequest', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());
  const owner = makeOwnerKey('owner');
  const stranger = makeOwnerKey('stranger');
  const ownerKeys = [parsePublicKey(owner.publicKey)];
  const now = new Date('2026-11-21T12:00:00Z');
  const nowSeconds = now.getTime() / 1000;
  const body = { source: { ref: '127.0.0.1:5000/me/miner:stable' } };

  function request(headers: Record<string, string>, overrides: { body?: unknown; path?: string } = {}) {
    return {
      method: 'PUT',
      path: overrides.path ?? '/v1/config',
      body: 'body' in overrides ? overrides.body : body,
      header: (name: string) => headers[name.toLowerCase()],
    };
  }

  const signed = (key = owner.secret, extra: { now?: Date; nonce?: string } = {}) =>
    signOwnerRequest(key, {
      method: 'PUT',
      path: '/v1/config',
      body,
      now: extra.now ?? now,
      ...(extra.nonce ? { nonce: extra.nonce } : {}),
    });

  describe('when an owner key signed the request', () => {
    it('returns the key', async () => {
      const key = await verifyOwnerRequest(
        request(signed()),
        ownerKeys,
        new NonceStore(undefined),
        nowSeconds,
      );
      expect(key.keyNumberHex).toBe(owner.secret.keyNumberHex);
    });
  });

  describe('when the request is not acceptable', () => {
    const cases: [string, () => ReturnType<typeof request>][] = [
      ['unsigned', () => request({})],
      ['signed by a key that is not an owner key', () => request(signed(stranger.secret))],
      [
        'with a body changed after signing',
        () => request(signed(), { body: { source: { ref: 'evil/miner:x' } } }),
      ],
      ['sent to another path than signed', () => request(signed(), { path: '/v1/check' })],
      [
        'with a garbled signature',
        () => request({ ...signed(), [OWNER_HEADERS.signature]: 'RWRub3QgYSBzaWduYXR1cmU=' }),
      ],
      [
        'with a timestamp outside the window',
        () =>
          request(
            signed(owner.secret, {
              now: new Date(now.getTime() - (OWNER_REQUEST_WINDOW_SECONDS + 5) * 1000),
            }),
          ),
      ],
      [
        'with a timestamp changed after signing',
        () => request({ ...signed(), [OWNER_HEADERS.timestamp]: String(nowSeconds + 1) }),
      ],
      ['with a malformed nonce', () => request({ ...signed(), [OWNER_HEADERS.nonce]: 'short' })],
    ];
    it.each(cases)('refuses a request %s with E_SIGNATURE (401)', async (_what, make) => {
      await expect(
        verifyOwnerRequest(make(), ownerKeys, new NonceStore(undefined), nowSeconds),
      ).rejects.toMatchObject({
        code: 'E_SIGNATURE',
        details: { httpStatus: 401 },
      });
    });

    it('refuses every signed request when no owner keys are configured', async () => {
      await expect(
        verifyOwnerRequest(request(signed()), [], new NonceStore(undefined), nowSeconds),
      ).rejects.toMatchObject({
        code: 'E_SIGNATURE',
      });
    });
  });

  describe('when a captured request is replayed', () => {
    it('refuses the replay, also after a restart (nonces are persisted)', async () => {
      const file = join(tmp.path, 'nonces.json');
      const headers = signed(owner.secret, { nonce: 'a'.repeat(32) });
      await verifyOwnerRequest(request(headers), ownerKeys, new NonceStore(file), nowSeconds);
      await expect(
        verifyOwnerRequest(request(headers), ownerKeys, new NonceStore(file), nowSeconds + 1),
      ).rejects.toMatchObject({
        code: 'E_SIGNATURE',
      });
    });

    it('forgets nonces once their window has passed (the timestamp refuses them then)', async () => {
      const store = new NonceStore(undefined);
      expect(await store.remember('n'.repeat(16), nowSeconds + 10, nowSeconds)).toBe(true);
      expect(store.has('n'.repeat(16), nowSeconds + 5)).toBe(true);
      expect(store.has('n'.repeat(16), nowSeconds + 11)).toBe(false);
    });

    it('refuses new requests when the nonce store is full', async () => {
      const store = new NonceStore(undefined, 1);
      await verifyOwnerRequest(request(signed()), ownerKeys, store, nowSeconds);
      await expect(verifyOwnerRequest(request(signed()), ownerKeys, store, nowSeconds)).rejects.toMatchObject(
        {
          code: 'E_SIGNATURE',
        },
      );
    });
  });
});
