/**
 * UserAgent fixtures for the integration tests: a callee that answers INVITE (180, then 2xx) and
 * BYE, and taps that record what the transport layer delivers and sends.
 */
import { newTag } from '../../src/shared/index.ts';
import type { AnyMessage, SipResponse } from '../../src/sip/index.ts';
import type { Flow, ListenSpec } from '../../src/transport/index.ts';
import type { TimerConfig } from '../../src/transaction/index.ts';
import { UserAgent } from '../../src/ua/index.ts';

export interface Tapped {
  message: AnyMessage;
  flow: Flow;
  /** performance.now() at arrival. */
  at: number;
}

/** Records every message the transport hands to the transaction layer (before matching). */
export function tapInbound(ua: UserAgent): Tapped[] {
  const seen: Tapped[] = [];
  const next = ua.transport.onMessage;
  ua.transport.onMessage = (message, flow) => {
    seen.push({ message, flow, at: performance.now() });
    next(message, flow);
  };
  return seen;
}

/** Records every response the transactions (and the UA's 2xx retransmission) send. */
export function tapResponses(ua: UserAgent): SipResponse[] {
  const sent: SipResponse[] = [];
  const transport = ua.transport;
  const original = transport.sendResponse.bind(transport);
  transport.sendResponse = (response, flow, onError) => {
    sent.push(response);
    return original(response, flow, onError);
  };
  return sent;
}

export interface Callee {
  ua: UserAgent;
  /** Call-IDs of the INVITEs the TU saw, in order (one entry per onRequest). */
  invites: string[];
  byes: string[];
  other: string[];
  inbound: Tapped[];
  responses: SipResponse[];
  port(protocol: 'udp' | 'tcp'): number;
}

/**
 * A UAS on UserAgent: INVITE gets 180 and then 200 with the same To tag (ua.answer, which
 * retransmits the 200 until the ACK), BYE gets 200, anything else 501.
 */
export async function startCallee(listen: ListenSpec[], timers?: Partial<TimerConfig>): Promise<Callee> {
  const ua = await UserAgent.create({ listen, timers, user: 'callee' });
  const callee: Callee = {
    ua,
    invites: [],
    byes: [],
    other: [],
    inbound: tapInbound(ua),
    responses: tapResponses(ua),
    port: (protocol) => {
      const l = ua.transport.listeners().find((x) => x.protocol === protocol);
      if (l === undefined) throw new Error(`no ${protocol} listener`);
      return l.port;
    },
  };
  ua.onRequest = (incoming) => {
    const request = incoming.request;
    if (request.method === 'INVITE') {
      callee.invites.push(request.callId);
      const toTag = newTag();
      incoming.respond(180, { toTag });
      ua.answer(incoming, 200, { toTag });
    } else if (request.method === 'BYE') {
      callee.byes.push(request.callId);
      incoming.respond(200);
    } else {
      callee.other.push(`${request.method} ${request.callId}`);
      incoming.respond(501);
    }
  };
  return callee;
}

/** Inbound messages of one kind: requests by method, or responses by `status method`. */
export function countInbound(inbound: Tapped[], filter: (m: AnyMessage) => boolean): number {
  return inbound.filter((t) => filter(t.message)).length;
}
