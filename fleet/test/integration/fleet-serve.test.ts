import { join } from 'node:path';
import { startFleetServer } from '@minerhaul/fleet';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { MIGRATIONS } from '../../src/migrations';

describe('startFleetServer (fleet serve)', () => {
  const tmp = makeTmpDir('minerhaul-fleet-serve-');
  afterAll(() => tmp.cleanup());

  it('migrates the database, listens on loopback and uses the configured token', async () => {
    const s = await startFleetServer(
      { db: `sqlite:${join(tmp.path, 'a.db')}`, listen: '127.0.0.1:0' },
      { MINERHAUL_FLEET_ADMIN_TOKEN: 'serve-test-token-0123456789' },
    );
    try {
      expect(s.schemaVersion).toBe(Math.max(...MIGRATIONS.map((m) => m.version)));
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(s.generatedToken).toBeUndefined();
      const ok = await fetch(`${s.url}/v1/adoption`, {
        headers: { authorization: 'Bearer serve-test-token-0123456789' },
      });
      expect(ok.status).toBe(200);
    } finally {
      await s.fleet.close();
    }
  });

  it('makes up a token when none is configured and says so', async () => {
    const s = await startFleetServer({ db: `sqlite:${join(tmp.path, 'b.db')}`, listen: ':0' }, {});
    try {
      expect(s.generatedToken).toBeDefined();
      const res = await fetch(`${s.url}/metrics`, {
        headers: { authorization: `Bearer ${s.generatedToken}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await s.fleet.close();
    }
  });

  it('refuses a port already in use and releases the database', async () => {
    const first = await startFleetServer(
      { db: `sqlite:${join(tmp.path, 'c.db')}`, listen: '127.0.0.1:0' },
      {},
    );
    try {
      const port = new URL(first.url).port;
      await expect(
        startFleetServer({ db: `sqlite:${join(tmp.path, 'd.db')}`, listen: `127.0.0.1:${port}` }, {}),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.fleet.close();
    }
  });
});
