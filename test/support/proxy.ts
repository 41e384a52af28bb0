/**
 * Fixtures for the proxy integration tests (test/integration/proxy-*.test.ts): a sipline server
 * (startServer) serving example.test on 127.0.0.1 with provisioned subscribers, a digest client
 * (RFC 7616 with qop=auth) for UserAgent phones, authenticated REGISTER and INVITE, and a UDP
 * socket that swallows everything (a phone that never answers).
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { startServer, type RunningServer, type ServerConfig } from '../../src/app.ts';
import { computeHa1, computeResponse, type DigestAlgorithm } from '../../src/services/auth/index.ts';
import { newTag } from '../../src/shared/index.ts';
import type { SipResponse } from '../../src/sip/index.ts';
import { MemoryStore, type Store } from '../../src/store/index.ts';
import type { Destination, TransportProtocol } from '../../src/transport/index.ts';
import { UserAgent, type OutgoingCall, type RequestSpec } from '../../src/ua/index.ts';
import { tapInbound, type Tapped } from './ua.ts';

export const DOMAIN = 'example.test';

/** The subscribers every proxy test server knows: user → password. */
export const USERS: Record<string, string> = {
  alice: 'alice-secret',
  bob: 'bob-secret',
  carol: 'carol-secret',
};

export interface Proxy {
  server: RunningServer;
  udpPort: number;
  tcpPort: number;
  /** Where a phone sends its requests: the proxy's listener for that transport. */
  destination(protocol?: TransportProtocol): Destination;
  /** "127.0.0.1:port" for sipp. */
  address(protocol?: TransportProtocol): string;
}

export async function provision(store: Store, users: Record<string, string> = USERS): Promise<void> {
  for (const [username, password] of Object.entries(users)) {
    await store.putSubscriber({
      username,
      domain: DOMAIN,
      ha1Md5: computeHa1('MD5', username, DOMAIN, password),
      ha1Sha256: computeHa1('SHA-256', username, DOMAIN, password),
    });
  }
}

/**
 * A server on UDP and TCP 127.0.0.1 (ephemeral ports) serving example.test, on a MemoryStore with
 * USERS provisioned unless `config.store` or `config.dataDir` says otherwise.
 */
export async function startProxy(config: Partial<ServerConfig> = {}): Promise<Proxy> {
  let store = config.store;
  if (store === undefined && config.dataDir === undefined) {
    store = new MemoryStore();
    await provision(store);
  }
  const server = await startServer({
    listen: [
      { protocol: 'udp', host: '127.0.0.1', port: 0 },
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
    ],
    domains: [{ name: DOMAIN }],
    logLevel: 'silent',
    ...config,
    store,
  });
  const port = (protocol: TransportProtocol) => {
    const l = server.listeners.find((x) => x.protocol === protocol);
    if (l === undefined) throw new Error(`the server has no ${protocol} listener`);
    return l.port;
  };
  return {
    server,
    udpPort: port('udp'),
    tcpPort: port('tcp'),
    destination: (protocol = 'udp') => ({ protocol, address: '127.0.0.1', port: port(protocol) }),
    address: (protocol = 'udp') => `127.0.0.1:${port(protocol)}`,
  };
}

/** Parameters of a Digest challenge (WWW-Authenticate / Proxy-Authenticate value). */
export function challengeParams(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  const re = /([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) params[m[1].toLowerCase()] = m[2] ?? m[3];
  return params;
}

/** The Authorization / Proxy-Authorization value answering a challenge (qop=auth, nc=1). */
export function digestCredentials(challenge: string, username: string, password: string, method: string, uri: string): string {
  const c = challengeParams(challenge);
  const algorithm = (c.algorithm ?? 'MD5').toUpperCase() as DigestAlgorithm;
  const ha1 = computeHa1(algorithm, username, c.realm, password);
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const qop = c.qop !== undefined ? { nc, cnonce } : undefined;
  const response = computeResponse({ algorithm, ha1, method, uri, nonce: c.nonce, qop });
  let value = `Digest username="${username}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}`;
  if (qop !== undefined) value += `, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
  return value;
}

/** A phone: a UserAgent whose From is user@example.test, on UDP and TCP, recording what it receives. */
export interface Phone {
  ua: UserAgent;
  user: string;
  inbound: Tapped[];
  port(protocol?: TransportProtocol): number;
}

/** `host`: the loopback address the phone binds to; another 127.0.0.x acts as another source. */
export async function startPhone(user: string, protocols: TransportProtocol[] = ['udp'], timers?: UserAgentTimers, host = '127.0.0.1'): Promise<Phone> {
  const ua = await UserAgent.create({ listen: protocols.map((protocol) => ({ protocol, host, port: 0 })), user, domain: DOMAIN, timers });
  return {
    ua,
    user,
    inbound: tapInbound(ua),
    port: (protocol = 'udp') => {
      const l = ua.transport.listeners().find((x) => x.protocol === protocol);
      if (l === undefined) throw new Error(`no ${protocol} listener`);
      return l.port;
    },
  };
}

type UserAgentTimers = Parameters<typeof UserAgent.create>[0]['timers'];

export interface RegisterOptions {
  password?: string;
  /** The Contact header value; the phone's own address by default. */
  contact?: string;
  expires?: number;
  protocol?: TransportProtocol;
  headers?: Array<[string, string]>;
  /** The Call-ID (a fresh one when absent): worker-mode tests pick the worker that owns it. */
  callId?: string;
}

/** REGISTER for user@example.test through the proxy, answering the 401 challenge once. */
export async function register(phone: Phone, proxy: Proxy, options: RegisterOptions = {}): Promise<SipResponse> {
  const protocol = options.protocol ?? 'udp';
  const password = options.password ?? USERS[phone.user];
  const aor = `<sip:${phone.user}@${DOMAIN}>`;
  const contact = options.contact ?? `<${phone.ua.contactUri(protocol)}>`;
  const base: RequestSpec = {
    method: 'REGISTER',
    uri: `sip:${DOMAIN}`,
    destination: proxy.destination(protocol),
    to: aor,
    from: `${aor};tag=${newTag()}`,
    callId: options.callId ?? `reg-${newTag()}@${DOMAIN}`,
    headers: [['Contact', contact], ['Expires', String(options.expires ?? 600)], ...(options.headers ?? [])],
  };
  const first = await phone.ua.request({ ...base, cseq: 1 });
  if (first.status !== 401) return first;
  const credentials = digestCredentials(first.get('www-authenticate') ?? '', phone.user, password, 'REGISTER', `sip:${DOMAIN}`);
  return phone.ua.request({ ...base, cseq: 2, headers: [...(base.headers ?? []), ['Authorization', credentials]] });
}

export interface CallOptions {
  password?: string;
  protocol?: TransportProtocol;
  from?: string;
  onProvisional?: (response: SipResponse) => void;
}

/**
 * INVITE through the proxy; a 407 is answered once with Proxy-Authorization (same Call-ID and
 * From tag, CSeq + 1, §22.2). The 407 itself is ACKed by the INVITE client transaction.
 */
export async function call(phone: Phone, proxy: Proxy, uri: string, options: CallOptions = {}): Promise<OutgoingCall> {
  const protocol = options.protocol ?? 'udp';
  const spec = {
    uri,
    destination: proxy.destination(protocol),
    from: options.from ?? `<sip:${phone.user}@${DOMAIN}>;tag=${newTag()}`,
    callId: `call-${newTag()}@${DOMAIN}`,
    onProvisional: options.onProvisional,
  };
  const first = await phone.ua.invite({ ...spec, cseq: 1 });
  const final = await first.final;
  if (final.status !== 407) return first;
  const credentials = digestCredentials(final.get('proxy-authenticate') ?? '', phone.user, options.password ?? USERS[phone.user], 'INVITE', uri);
  return phone.ua.invite({ ...spec, cseq: 2, headers: [['Proxy-Authorization', credentials]] });
}

/** A UDP socket that receives and never answers (a phone that is gone). */
export async function silentSocket(): Promise<{ socket: dgram.Socket; port: number; received: string[]; close(): void }> {
  const socket = dgram.createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (d) => received.push(d.toString('latin1')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { socket, port: socket.address().port, received, close: () => socket.close() };
}

/** Requests of a method the phone received, in order. */
export function received(phone: Phone, method: string): Tapped[] {
  return phone.inbound.filter((t) => t.message.isRequest && t.message.method === method);
}

/** One message of a sipp -trace_msg log. */
export interface TracedMessage {
  direction: 'sent' | 'received';
  transport: string;
  /** The request or status line. */
  startLine: string;
  text: string;
  /** The values of a header (full name, case-insensitive), in order. */
  headers(name: string): string[];
  /** Header names in order (lowercase). */
  names(): string[];
}

/** Splits a sipp -trace_msg log into its messages. */
export function parseSippMessages(log: string): TracedMessage[] {
  const out: TracedMessage[] = [];
  for (const chunk of log.split(/^-{20,}[^\n]*\n/m)) {
    const m = /^(UDP|TCP) message (sent|received)[^\n]*\n+([\s\S]*)$/.exec(chunk);
    if (m === null) continue;
    const text = m[3].replace(/\r\n/g, '\n').trim();
    const [head] = text.split('\n\n');
    const lines = head.split('\n');
    const fields = lines.slice(1).map((l) => {
      const colon = l.indexOf(':');
      return { name: l.slice(0, colon).trim().toLowerCase(), value: l.slice(colon + 1).trim() };
    });
    out.push({
      direction: m[2] as 'sent' | 'received',
      transport: m[1],
      startLine: lines[0],
      text,
      headers: (name) => fields.filter((f) => f.name === name.toLowerCase()).map((f) => f.value),
      names: () => fields.map((f) => f.name),
    });
  }
  return out;
}

/** sipp arguments naming the user, the domain and the digest credentials. */
export function sippUser(user: string, password = USERS[user] ?? 'nopassword', domain = DOMAIN): string[] {
  return ['-key', 'domain', domain, '-s', user, '-au', user, '-ap', password];
}
