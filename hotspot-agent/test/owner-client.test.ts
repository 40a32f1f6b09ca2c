import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendOwnerConfig } from '@minerhaul/hotspot-agent';
import { makeOwnerKey } from './helpers/agent-fixtures';

describe('sendOwnerConfig', () => {
  let server: Server;
  let answer: { status: number; body: string };
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const owner = makeOwnerKey();

  describe('when the agent refuses with one of its stable codes', () => {
    it('throws that code (here E_NO_SPACE), not a generic E_CONFIG', async () => {
      answer = { status: 507, body: JSON.stringify({ error: { code: 'E_NO_SPACE', message: 'disk full' } }) };
      await expect(sendOwnerConfig(base, owner.secret, { schedule: {} })).rejects.toMatchObject({
        code: 'E_NO_SPACE',
      });
    });
  });

  describe('when something else answers with an error page', () => {
    it('throws E_CONFIG with the HTTP status', async () => {
      answer = { status: 502, body: '<html>bad gateway</html>' };
      await expect(sendOwnerConfig(base, owner.secret, { schedule: {} })).rejects.toMatchObject({
        code: 'E_CONFIG',
        details: { status: 502 },
      });
    });
  });
});
