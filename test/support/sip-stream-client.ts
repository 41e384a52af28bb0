/**
 * A bare SIP client over one TCP or TLS connection (node:net / node:tls), for tests that need a
 * client the way a phone behind NAT is one: it never listens, everything reaches it over the
 * connection it opened. It writes raw request text and frames what comes back by Content-Length.
 */
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { StreamFramer, type AnyMessage, type SipRequest, type SipResponse } from '../../src/sip/index.ts';
import { delay } from './sipp.ts';
import { digestCredentials, DOMAIN } from './proxy.ts';

export class SipStreamClient {
  readonly messages: AnyMessage[] = [];
  private readonly framer = new StreamFramer();
  private cseq = 0;
  private readonly callId = `${randomBytes(6).toString('hex')}@${DOMAIN}`;
  private readonly fromTag = randomBytes(4).toString('hex');
  closed = false;

  private constructor(
    readonly socket: net.Socket,
    readonly transport: 'TCP' | 'TLS',
    readonly user: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.framer.push(chunk)) if (item.kind === 'message') this.messages.push(item.message);
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  /** Connects over TLS and resolves once the handshake is done (rejects on a handshake failure). */
  static connectTls(user: string, options: tls.ConnectionOptions): Promise<SipStreamClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect(options, () => resolve(new SipStreamClient(socket, 'TLS', user)));
      socket.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  /** Our Contact: the address of the connection (we do not listen, RFC 5626 §5 style reachability). */
  get contact(): string {
    return `<sip:${this.user}@127.0.0.1:${this.localPort};transport=${this.transport.toLowerCase()}>`;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Sends a request (Via, From, To, Call-ID, CSeq filled in) and waits for its final response. */
  async request(method: string, uri: string, to: string, headers: string[] = [], body = ''): Promise<SipResponse> {
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    const cseq = ++this.cseq;
    const lines = [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/${this.transport} 127.0.0.1:${this.localPort};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:${this.user}@${DOMAIN}>;tag=${this.fromTag}`,
      `To: ${to}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      ...headers,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    this.send(lines.join('\r\n'));
    const response = (await this.waitFor(
      (m) => !m.isRequest && m.status >= 200 && m.via.branch === branch,
      10_000,
      `the final response to ${method} ${uri}`,
    )) as SipResponse;
    return response;
  }

  /** A request answered once with digest credentials (401/407), as a phone does. */
  async authenticatedRequest(method: string, uri: string, to: string, password: string, headers: string[] = [], body = ''): Promise<SipResponse> {
    const first = await this.request(method, uri, to, headers, body);
    if (first.status !== 401 && first.status !== 407) return first;
    const header = first.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const credentials = digestCredentials(first.get(header.toLowerCase()) ?? '', this.user, password, method, uri);
    return this.request(method, uri, to, [...headers, `${first.status === 401 ? 'Authorization' : 'Proxy-Authorization'}: ${credentials}`], body);
  }

  /** Answers a request received over the connection (its Vias, From, To, Call-ID, CSeq echoed). */
  respond(request: SipRequest, status: number, reason: string): void {
    const lines = [`SIP/2.0 ${status} ${reason}`];
    for (const v of request.getAll('via')) lines.push(`Via: ${v}`);
    const to = request.get('to') ?? '';
    lines.push(`From: ${request.get('from')}`, `To: ${request.to.tag === undefined ? `${to};tag=${this.fromTag}` : to}`, `Call-ID: ${request.callId}`, `CSeq: ${request.get('cseq')}`, 'Content-Length: 0', '', '');
    this.send(lines.join('\r\n'));
  }

  async waitFor(match: (m: AnyMessage) => boolean, timeoutMs: number, what: string): Promise<AnyMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found !== undefined) return found;
      if (this.closed) throw new Error(`the connection closed while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`no ${what} in ${timeoutMs} ms`);
      await delay(20);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
