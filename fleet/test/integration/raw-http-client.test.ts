import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RawHttpConnection } from '../../src/raw-http-client';

describe('RawHttpConnection', () => {
  let server: Server;
  let url: URL;
  const seen: Array<{ body: string; host: string | undefined; sig: string | undefined }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        seen.push({ body, host: req.headers.host, sig: req.headers['x-sig'] as string | undefined });
        if (body === 'close') res.setHeader('connection', 'close');
        const text = JSON.stringify({ echo: body, n: seen.length });
        res.writeHead(body === 'refuse' ? 409 : 202, {
          'content-type': 'application/json',
          'content-length': text.length,
        });
        res.end(text);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/reports`);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends requests one after another on one connection and reads each response', async () => {
    const c = new RawHttpConnection(url);
    const a = await c.post('/v1/reports', { 'x-sig': 'abc' }, Buffer.from('one'));
    const b = await c.post('/v1/reports', {}, Buffer.from('refuse'));
    c.close();
    expect(a).toEqual({ status: 202, body: JSON.stringify({ echo: 'one', n: seen.length - 1 }) });
    expect(b.status).toBe(409);
    expect(seen.at(-2)).toEqual({ body: 'one', host: url.host, sig: 'abc' });
  });

  it('reconnects after the server closes the connection', async () => {
    const c = new RawHttpConnection(url);
    expect((await c.post('/v1/reports', {}, Buffer.from('close'))).status).toBe(202);
    expect((await c.post('/v1/reports', {}, Buffer.from('after'))).status).toBe(202);
    c.close();
  });

  it('refuses a second request while one is in flight', async () => {
    const c = new RawHttpConnection(url);
    const first = c.post('/v1/reports', {}, Buffer.from('x'));
    await expect(c.post('/v1/reports', {}, Buffer.from('y'))).rejects.toThrow(/in flight/);
    await first;
    c.close();
  });

  it('fails when nothing listens', async () => {
    const c = new RawHttpConnection(new URL('http://127.0.0.1:9/'));
    await expect(c.post('/', {}, Buffer.from('x'))).rejects.toThrow();
  });
});
