/**
 * A rehearsal at start: a private server (its own loopback port, an in-memory store, the default
 * routing script with stateless answers to half the pings, no logging) carries a few hundred registrations, calls and OPTIONS from a private
 * user agent, then stops. The JIT optimizes code where it runs, not per server, so the real server
 * starts with its whole request path optimized: transport, transactions, proxy core, routing API,
 * registrar, digest authentication and timers, on datagrams made as the socket makes them. Without
 * it, a server restarted into full load (after a crash, a failover) spends its first second
 * compiling and deoptimizing while its socket buffer overflows. Nothing of the rehearsal reaches
 * the real server's state, store, peers or logs.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { computeHa1, computeResponse } from './services/auth/index.ts';
import { parseMessage, type SipRequest, type SipResponse } from './sip/index.ts';
import { STATELESS_CALL_ID_MARK } from './routing/rehearsal-script.ts';

export interface RehearsalServer {
  readonly listeners: ReadonlyArray<{ protocol: string; port: number }>;
  stop(): Promise<void>;
}

/** Starts the private server on 127.0.0.1:0 (UDP) for `domain`, with each of `usernames` provisioned with `password`. */
export type StartRehearsalServer = (domain: string, usernames: string[], password: string) => Promise<RehearsalServer>;

export interface RehearsalPlan {
  registrations: number;
  /**
   * Distinct users the registrations are spread over: the first registration of each adds a
   * binding, the others refresh it, and a real server meets both (thousands of phones registering
   * after a restart add bindings at first).
   */
  users: number;
  calls: number;
  options: number;
  /** Flows in progress at once. */
  window: number;
  /** The rehearsal ends by then whatever is left. */
  timeoutMs: number;
}

/**
 * Large enough that the JIT has compiled the request path before it opens: with 400
 * registrations, 400 calls and 1,500 pings (about a second) a cold start into 5,000
 * registrations/s still saw a second of background compilation on the server's core and dropped
 * 650-2,300 datagrams; with this plan (about three seconds) 110-420.
 */
export const DEFAULT_REHEARSAL: RehearsalPlan = { registrations: 3000, users: 1500, calls: 1500, options: 5000, window: 32, timeoutMs: 15_000 };

export interface RehearsalResult {
  completed: number;
  /** Completed flows that did not end as they should (a registration not accepted, a call not answered): a private server that misbehaves. */
  failed: number;
  planned: number;
  ms: number;
}

const DOMAIN = 'rehearsal.invalid';
const USER = 'rehearsal';

/** The i-th rehearsal user; the first is the callee of the calls. */
function userName(i: number): string {
  return `${USER}${i}`;
}

const CALLEE = userName(0);
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n';

/**
 * A first, short pass on a private server of its own, started, exercised and stopped before the
 * rehearsal proper. While only one server has existed the JIT specializes code to its objects (a
 * closure made once per server, one socket, one transaction table), and stopping that server
 * (sockets closed, tables cleared) throws such code away: measured, some 25 request-path functions
 * were deoptimized when the rehearsal's server stopped and compiled again under real load, on the
 * server's own core. After a first server has come and gone, the rehearsal optimizes code that no
 * longer depends on one instance: a cold start into 5,000 registrations/s then dropped nothing in
 * three runs of four (a few hundred datagrams in the fourth) against 100-3,700 without it.
 */
export const PRELUDE: RehearsalPlan = { registrations: 20, users: 10, calls: 20, options: 50, window: 8, timeoutMs: 5_000 };

/** The prelude, then the plan; the result counts the plan, and failures of either. */
export async function rehearse(start: StartRehearsalServer, plan: RehearsalPlan = DEFAULT_REHEARSAL): Promise<RehearsalResult> {
  const begun = Date.now();
  const prelude = await rehearsePass(start, PRELUDE);
  const result = await rehearsePass(start, plan);
  return { ...result, failed: result.failed + prelude.failed, ms: Date.now() - begun };
}

async function rehearsePass(start: StartRehearsalServer, plan: RehearsalPlan): Promise<RehearsalResult> {
  const begun = Date.now();
  const password = randomBytes(12).toString('hex');
  const users = Array.from({ length: Math.max(1, plan.users) }, (_, i) => userName(i));
  const server = await start(DOMAIN, users, password);
  const port = server.listeners.find((l) => l.protocol === 'udp')?.port;
  const ua = dgram.createSocket('udp4');
  try {
    if (port === undefined) return { completed: 0, failed: 0, planned: 0, ms: Date.now() - begun };
    await new Promise<void>((resolve, reject) => {
      ua.once('error', reject);
      // exclusive: never a socket shared through a cluster primary
      ua.bind({ port: 0, address: '127.0.0.1', exclusive: true }, () => resolve());
    });
    const agent = new RehearsalAgent(ua, port, password, plan);
    const completed = await agent.run();
    return { completed, failed: agent.failed, planned: plan.registrations + plan.calls + plan.options, ms: Date.now() - begun };
  } finally {
    ua.close();
    await server.stop();
  }
}

type Flow = { kind: 'register' | 'call' | 'options'; id: number };

/** The private user agent: registers, calls itself through the server (caller and callee), pings. */
class RehearsalAgent {
  private readonly uaPort: number;
  private readonly queue: Flow[] = [];
  private inFlight = 0;
  private completed = 0;
  failed = 0;
  private done: () => void = () => {};

  constructor(
    private readonly socket: dgram.Socket,
    private readonly serverPort: number,
    private readonly password: string,
    private readonly plan: RehearsalPlan,
  ) {
    this.uaPort = socket.address().port;
    // registrations first: the calls need the binding
    for (let i = 0; i < plan.registrations; i++) this.queue.push({ kind: 'register', id: i });
    const rest = Math.max(plan.calls, plan.options);
    for (let i = 0; i < rest; i++) {
      if (i < plan.calls) this.queue.push({ kind: 'call', id: i });
      if (i < plan.options) this.queue.push({ kind: 'options', id: i });
    }
  }

  run(): Promise<number> {
    this.socket.on('message', (data, rinfo) => {
      try {
        this.receive(parseMessage(data), rinfo.port);
      } catch {
        // a rehearsal never fails the start: what cannot be read is left
      }
    });
    return new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(this.completed), this.plan.timeoutMs);
      this.done = () => {
        clearTimeout(timer);
        resolve(this.completed);
      };
      this.next();
    });
  }

  private next(): void {
    // the first registration goes alone: every call needs the binding it makes
    const limit = this.completed === 0 && this.plan.registrations > 0 ? 1 : this.plan.window;
    while (this.inFlight < limit && this.queue.length > 0) {
      const flow = this.queue.shift() as Flow;
      this.inFlight++;
      if (flow.kind === 'register') this.register(flow.id, 1, undefined);
      else if (flow.kind === 'call') this.invite(flow.id);
      else this.options(flow.id);
    }
    if (this.inFlight === 0 && this.queue.length === 0) this.done();
  }

  private finish(succeeded: boolean): void {
    this.inFlight--;
    this.completed++;
    if (!succeeded) this.failed++;
    this.next();
  }

  private send(lines: string[], body = '', port = this.serverPort): void {
    const head = lines.join('\r\n') + `\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    this.socket.send(head + body, port, '127.0.0.1');
  }

  private via(branch: string): string {
    return `Via: SIP/2.0/UDP 127.0.0.1:${this.uaPort};branch=z9hG4bK-${branch};rport`;
  }

  private register(id: number, cseq: number, authorization: string | undefined): void {
    const user = this.userOf(id);
    const lines = [
      `REGISTER sip:${DOMAIN} SIP/2.0`,
      this.via(`r${id}.${cseq}`),
      'Max-Forwards: 70',
      `From: <sip:${user}@${DOMAIN}>;tag=r${id}`,
      `To: <sip:${user}@${DOMAIN}>`,
      `Call-ID: r${id}@rehearsal`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:${user}@127.0.0.1:${this.uaPort}>`,
      'Expires: 3600',
    ];
    if (authorization !== undefined) lines.push(`Authorization: ${authorization}`);
    this.send(lines);
  }

  private invite(id: number): void {
    this.send(
      [
        `INVITE sip:${CALLEE}@${DOMAIN} SIP/2.0`,
        this.via(`c${id}`),
        'Max-Forwards: 70',
        `From: <sip:caller@elsewhere.invalid>;tag=c${id}`,
        `To: <sip:${CALLEE}@${DOMAIN}>`,
        `Call-ID: c${id}@rehearsal`,
        'CSeq: 1 INVITE',
        `Contact: <sip:caller@127.0.0.1:${this.uaPort}>`,
        'Content-Type: application/sdp',
      ],
      SDP,
    );
  }

  private options(id: number): void {
    this.send([
      `OPTIONS sip:${DOMAIN} SIP/2.0`,
      this.via(`o${id}`),
      'Max-Forwards: 70',
      `From: <sip:${CALLEE}@${DOMAIN}>;tag=o${id}`,
      `To: <sip:${DOMAIN}>`,
      // every other ping marked for a stateless answer (src/routing/rehearsal-script.ts)
      `Call-ID: ${id % 2 === 0 ? STATELESS_CALL_ID_MARK : 'o'}${id}@rehearsal`,
      'CSeq: 1 OPTIONS',
    ]);
  }

  private receive(message: SipRequest | SipResponse, fromPort: number): void {
    if (message.isRequest) {
      this.answerAsCallee(message, fromPort);
      return;
    }
    const branch = message.via.branch ?? '';
    const kind = branch.charAt('z9hG4bK-'.length);
    const id = Number(branch.slice('z9hG4bK-'.length + 1).split('.')[0]);
    const status = message.status;
    if (kind === 'r') {
      if (status === 401 && message.cseq.seq === 1) this.register(id, 2, this.credentials(message, this.userOf(id)));
      else if (status >= 200) this.finish(status === 200);
    } else if (kind === 'c') {
      if (status === 200) this.hangUp(message);
      else if (status >= 300) this.finish(false);
    } else if (kind === 'b' || kind === 'o') {
      if (status >= 200) this.finish(status === 200);
    }
  }

  /** Registration i's user: the first registrations add every user's binding, the rest refresh them. */
  private userOf(id: number): string {
    return userName(id % Math.max(1, this.plan.users));
  }

  private credentials(challenge: SipResponse, user: string): string {
    const c = challenge.authHeaders('www-authenticate')[0];
    const param = (name: string) => c?.params.get(name) ?? '';
    const realm = param('realm');
    const nonce = param('nonce');
    const uri = `sip:${DOMAIN}`;
    const ha1 = computeHa1('MD5', user, realm, this.password);
    const cnonce = 'rehearsal';
    const response = computeResponse({ algorithm: 'MD5', ha1, method: 'REGISTER', uri, nonce, qop: { nc: '00000001', cnonce } });
    return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}"`;
  }

  /** The caller's side after the 2xx: ACK and BYE along the Record-Route. */
  private hangUp(ok: SipResponse): void {
    const route = ok.getAll('record-route');
    const target = ok.contacts.contacts[0]?.uri.toString() ?? `sip:${CALLEE}@127.0.0.1:${this.uaPort}`;
    const id = ok.callId.slice(1, ok.callId.indexOf('@'));
    const common = (method: string, cseq: number, branch: string) => [
      `${method} ${target} SIP/2.0`,
      this.via(branch),
      ...route.map((r) => `Route: ${r}`),
      'Max-Forwards: 70',
      `From: ${ok.get('from')}`,
      `To: ${ok.get('to')}`,
      `Call-ID: ${ok.callId}`,
      `CSeq: ${cseq} ${method}`,
    ];
    this.send(common('ACK', 1, `a${id}`));
    this.send(common('BYE', 2, `b${id}`));
  }

  /** The callee's side: 180 and 200 to the INVITE, 200 to the BYE; the ACK needs no answer. */
  private answerAsCallee(request: SipRequest, port: number): void {
    if (request.method === 'ACK') return;
    const vias = request.getAll('via').map((v) => `Via: ${v}`);
    const rr = request.getAll('record-route').map((r) => `Record-Route: ${r}`);
    const to = request.get('to') ?? '';
    const toTagged = to.includes(';tag=') ? to : `${to};tag=callee-${request.callId.slice(0, request.callId.indexOf('@'))}`;
    const answer = (status: string, extra: string[] = [], body = '') =>
      this.send([`SIP/2.0 ${status}`, ...vias, ...rr, `From: ${request.get('from')}`, `To: ${toTagged}`, `Call-ID: ${request.callId}`, `CSeq: ${request.get('cseq')}`, ...extra], body, port);
    if (request.method === 'INVITE') {
      answer('180 Ringing');
      answer('200 OK', [`Contact: <sip:${CALLEE}@127.0.0.1:${this.uaPort}>`, 'Content-Type: application/sdp'], SDP);
    } else {
      answer('200 OK');
    }
  }
}
