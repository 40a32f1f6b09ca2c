import { type Socket, connect } from 'node:net';

export interface RawResponse {
  status: number;
  body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * One keep-alive HTTP/1.1 connection that sends one request at a time and reads responses framed
 * by Content-Length (RFC 9112 §6.3; the fleet server always sends it). Made for `fleet simulate`:
 * node:http's client costs more CPU per request than signing the report, and on a shared 2-core
 * machine the load generator's cost counts against the server's throughput.
 */
export class RawHttpConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private busy = false;
  private waiting: { resolve: (r: RawResponse) => void; reject: (e: Error) => void } | undefined;

  /** `url`: the server's http URL (host and port are taken from it). */
  constructor(
    url: URL,
    private readonly timeoutMs = 10_000,
  ) {
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || 80);
    this.hostHeader = url.host;
  }

  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;

  private open(): Promise<Socket> {
    if (this.socket !== undefined && !this.socket.destroyed) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.host, port: this.port, noDelay: true });
      s.setTimeout(this.timeoutMs);
      const onConnectError = (err: Error): void => reject(err);
      s.once('error', onConnectError);
      s.once('connect', () => {
        s.off('error', onConnectError);
        s.on('error', (err) => this.fail(err));
        s.on('timeout', () => s.destroy(new Error('request timed out')));
        s.on('close', () => this.fail(new Error('connection closed')));
        s.on('data', (chunk: Buffer) => this.onData(chunk));
        this.socket = s;
        this.buffer = Buffer.alloc(0);
        resolve(s);
      });
    });
  }

  private fail(err: Error): void {
    this.socket = undefined;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_RESPONSE_BYTES) {
      this.socket?.destroy(new Error('response too large'));
      return;
    }
    const end = this.buffer.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffer.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1]);
    if (!Number.isFinite(status) || !Number.isFinite(length)) {
      this.socket?.destroy(new Error('response without status or content-length'));
      return;
    }
    const total = end + HEADER_END.length + length;
    if (this.buffer.length < total) return;
    const body = this.buffer.subarray(end + HEADER_END.length, total).toString('utf8');
    this.buffer = this.buffer.subarray(total);
    const close = /\r\nconnection:\s*close/i.test(head);
    const w = this.waiting;
    this.waiting = undefined;
    if (close) {
      this.socket?.removeAllListeners('close');
      this.socket?.destroy();
      this.socket = undefined;
    }
    w?.resolve({ status, body });
  }

  /** POSTs `body` to `path`; one request at a time per connection. */
  async post(path: string, headers: Record<string, string | number>, body: Buffer): Promise<RawResponse> {
    if (this.busy) throw new Error('a request is already in flight on this connection');
    this.busy = true;
    try {
      const socket = await this.open();
      let head = `POST ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\ncontent-length: ${body.length}\r\n`;
      for (const [k, v] of Object.entries(headers)) {
        if (k.toLowerCase() !== 'content-length') head += `${k}: ${v}\r\n`;
      }
      return await new Promise<RawResponse>((resolve, reject) => {
        this.waiting = { resolve, reject };
        socket.write(Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), body]));
      });
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    this.socket?.removeAllListeners('close');
    this.socket?.destroy();
    this.socket = undefined;
  }
}
