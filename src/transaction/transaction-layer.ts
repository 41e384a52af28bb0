import { Counters, newBranch, silentLogger, systemClock, TimerWheel, type Clock, type Logger } from '../shared/index.ts';
import { createResponse, HeaderField, SipRequest, type AnyMessage, type SipResponse } from '../sip/index.ts';
import type { Destination, Flow, TransportLayer } from '../transport/index.ts';
import { ClientInviteTransaction } from './client-invite-transaction.ts';
import { ClientNonInviteTransaction } from './client-non-invite-transaction.ts';
import type { ClientTransactionHandle, ClientTransactionHandler } from './client-transaction.ts';
import type { ServerTransactionHandle, TransactionContext } from './context.ts';
import { ServerInviteTransaction } from './server-invite-transaction.ts';
import { ServerNonInviteTransaction } from './server-non-invite-transaction.ts';
import { CompletedTransactionTable, NO_RESPONSE } from './completed-transaction-table.ts';
import { hashKey, TransactionTable } from './transaction-table.ts';
import { LingerQueue, type Lingering } from './linger-queue.ts';
import { DEFAULT_TIMERS, type TimerConfig } from './timers.ts';
import { clientKey, clientKeyOfResponse, hasMagicCookie, serverKey } from './transaction-key.ts';

/** The transaction user (RFC 3261 §17): the core above the transactions (UA core, proxy core). */
export interface TransactionUser {
  /** A new request with its server transaction. ACK never comes here. */
  onRequest(request: SipRequest, transaction: ServerTransactionHandle): void;
  /** An ACK that matched no INVITE server transaction: the ACK of a 2xx (§17.2.1, §13.3.1.4). */
  onAck?(ack: SipRequest, flow: Flow): void;
  /** A response that matched no client transaction (e.g. a 2xx retransmitted after it ended, §17.1.1.2). */
  onStrayResponse?(response: SipResponse, flow: Flow): void;
  /**
   * A further 2xx for an INVITE client transaction in Accepted (RFC 6026 §8.4) that the layer keeps
   * in compact form (its handler named the route with acceptedRoute()): `route` is that route.
   */
  onAcceptedResponse?(response: SipResponse, route: Flow): void;
  /**
   * A server transaction ended without its ACK (Timer H) or could not send (§17.2.1, §17.2.4);
   * the request is undefined when a completed non-INVITE transaction had released it.
   */
  onServerFailure?(kind: 'timeout' | 'transport', request: SipRequest | undefined, flow: Flow): void;
}

export interface TransactionLayerOptions {
  timers?: Partial<TimerConfig>;
  clock?: Clock;
  /** Provide a wheel driven by hand (tests); otherwise one runs in real time. */
  wheel?: TimerWheel;
  /** When an INVITE server transaction sends 100 Trying by itself (§17.2.1). Default 'delayed' (200 ms). */
  autoTrying?: 'immediate' | 'delayed' | 'off';
  counters?: Counters;
  logger?: Logger;
}

type ServerTransaction = ServerInviteTransaction | ServerNonInviteTransaction;
type ClientTransaction = ClientInviteTransaction | ClientNonInviteTransaction;

/**
 * Matches every message to its transaction (RFC 3261 §17.1.3, §17.2.3) in two hash maps, creates
 * server transactions for new requests, and starts client transactions for the TU. All timers
 * run on one timer wheel, so the cost of a message does not grow with the number of transactions.
 */
export class TransactionLayer implements TransactionContext {
  readonly wheel: TimerWheel;
  readonly timers: TimerConfig;
  readonly counters: Counters;
  private readonly server = new TransactionTable<ServerTransaction>();
  private readonly client = new TransactionTable<ClientTransaction>();
  /**
   * The server transaction whose request the TU is handling right now, and its key's hash: it is
   * entered in the table only after the TU returns (receiveRequest), so ending or completing it
   * before then has nothing to remove there.
   */
  private receiving: ServerTransaction | null = null;
  private receivingHash = 0;
  private readonly autoTrying: 'immediate' | 'delayed' | 'off';
  private readonly logger: Logger;
  private readonly lingering: LingerQueue;
  /** Non-INVITE server transactions in Completed (Timer J) and INVITE ones in Accepted (Timer L): both 64*T1. */
  private readonly completed: CompletedTransactionTable;
  /** INVITE client transactions in Accepted (Timer M, 64*T1) whose handler named a route for further 2xx. */
  private readonly acceptedClients: CompletedTransactionTable;
  /** Non-INVITE client transactions in Completed (Timer K, T4): they only absorb retransmitted finals. */
  private readonly completedClients: CompletedTransactionTable;

  constructor(
    readonly transport: TransportLayer,
    private user: TransactionUser,
    options: TransactionLayerOptions = {},
  ) {
    this.timers = { ...DEFAULT_TIMERS, ...options.timers };
    this.wheel = options.wheel ?? new TimerWheel(options.clock ?? systemClock);
    this.autoTrying = options.autoTrying ?? 'delayed';
    this.counters = options.counters ?? transport.counters;
    this.logger = options.logger ?? silentLogger;
    this.lingering = new LingerQueue(this.wheel);
    this.completed = new CompletedTransactionTable(
      this.wheel,
      (bytes, route, onError) => this.transport.sendBytes(bytes, route, onError),
      (route) => this.serverFailed('transport', undefined, route),
    );
    // entries without a response: nothing is ever resent from these two
    const resendNothing = () => {};
    this.acceptedClients = new CompletedTransactionTable(this.wheel, resendNothing, resendNothing);
    this.completedClients = new CompletedTransactionTable(this.wheel, resendNothing, resendNothing);
    transport.onMessage = (message, flow) => this.receive(message, flow);
  }

  setUser(user: TransactionUser): void {
    this.user = user;
  }

  /** Server transactions alive, the completed ones waiting out Timer J included. */
  get serverCount(): number {
    return this.server.size + this.completed.size;
  }

  /** Client transactions alive, those waiting out Timer K or M in compact form included. */
  get clientCount(): number {
    return this.client.size + this.acceptedClients.size + this.completedClients.size;
  }

  /** Entry point for every message the transport delivers. */
  receive(message: AnyMessage, flow: Flow): void {
    if (message.isRequest) this.receiveRequest(message, flow);
    else this.receiveResponse(message, flow);
  }

  /**
   * Starts a client transaction for a request (no Via of ours yet: the transport adds one with
   * this branch, new by default; a proxy passes one carrying its loop-detection hash, §16.6 step 8).
   * Returns the transaction; responses go to the handler.
   */
  sendRequest(request: SipRequest, destination: Destination, handler: ClientTransactionHandler, branch = newBranch()): ClientTransactionHandle {
    if (request.method === 'ACK') throw new Error('ACK is sent without a transaction (sendAck)');
    const key = clientKey(branch, request.method);
    if (request.method === 'INVITE') {
      const tx = new ClientInviteTransaction(this, key, request, destination, handler);
      this.client.set(key, tx);
      tx.start();
      return tx;
    }
    const tx = new ClientNonInviteTransaction(this, key, request, destination, handler);
    this.client.set(key, tx);
    tx.start(false);
    return tx;
  }

  /**
   * CANCEL for a pending INVITE client transaction (RFC 3261 §9.1): same Request-URI, Call-ID,
   * From, To, CSeq number and Route, and the INVITE's own top Via, so that it shares its branch.
   */
  sendCancel(invite: ClientTransactionHandle, handler: ClientTransactionHandler, reason?: string): ClientTransactionHandle {
    const inv = invite.request;
    const fields: HeaderField[] = [new HeaderField('Via', 'via', inv.via.toString())];
    for (const f of inv.headers) {
      if (f.key === 'from' || f.key === 'to' || f.key === 'call-id' || f.key === 'route' || f.key === 'max-forwards') {
        fields.push(new HeaderField(f.name, f.key, f.value));
      }
    }
    fields.push(new HeaderField('CSeq', 'cseq', `${inv.cseq.seq} CANCEL`));
    if (reason !== undefined) fields.push(new HeaderField('Reason', 'reason', reason));
    fields.push(new HeaderField('Content-Length', 'content-length', '0'));
    const cancel = new SipRequest('CANCEL', inv.uriString, fields);
    const key = clientKey(invite.branch, 'CANCEL');
    const tx = new ClientNonInviteTransaction(this, key, cancel, invite.flow ?? invite.destination, handler);
    this.client.set(key, tx);
    tx.start(true);
    return tx;
  }

  /** Sends an ACK for a 2xx (a request of its own, outside any transaction, §13.2.2.4). */
  sendAck(ack: SipRequest, destination: Destination): Flow {
    return this.transport.sendRequest(ack, destination, newBranch());
  }

  /** The INVITE server transaction a CANCEL refers to (RFC 3261 §9.2). */
  findInviteForCancel(cancel: SipRequest): ServerTransactionHandle | undefined {
    const inviteKey = serverKey(cancel, undefined, 'INVITE');
    const tx = this.server.get(inviteKey);
    if (tx !== undefined) return tx.isInvite ? tx : undefined;
    // in Accepted the INVITE is kept as its key only: it exists, answered, and a CANCEL has no effect on it (§9.2)
    const route = this.completed.routeOf(inviteKey);
    return route === undefined ? undefined : new AnsweredInvite(inviteKey, route);
  }

  /** Stops all timers; live transactions are dropped. */
  shutdown(): void {
    this.wheel.stop();
    // Cancel their timers too: stop() only halts the driver, and the next schedule() on this
    // wheel would restart it, firing retransmissions and Timer B/F/H for dropped transactions.
    for (const tx of this.server.values()) tx.terminate();
    for (const tx of this.client.values()) tx.terminate();
    this.server.clear();
    this.client.clear();
    this.lingering.clear();
    this.completed.clear();
    this.acceptedClients.clear();
    this.completedClients.clear();
  }

  // ---- TransactionContext -------------------------------------------------------------------

  linger(transaction: Lingering, ms: number): void {
    this.lingering.add(transaction, ms);
  }

  forget(transaction: { readonly key: string }, server: boolean): void {
    // only if it is still the one held under its key: a handle let go by complete() may be ended
    // after another transaction took its key (identity is all deleteIf compares). One ended while
    // its request is still being received (a stateless reply) was never entered.
    if (server) {
      if (transaction !== this.receiving) this.server.deleteIf(transaction.key, transaction as ServerTransaction);
    } else this.client.deleteIf(transaction.key, transaction as ClientTransaction);
  }

  complete(transaction: { readonly key: string }, response: Buffer, route: Flow, ms: number): void {
    let hash: number;
    if (transaction === this.receiving) {
      hash = this.receivingHash; // answered at once: not in the table, and its key already hashed
    } else {
      hash = hashKey(transaction.key);
      this.server.deleteIf(transaction.key, transaction as ServerTransaction, hash);
    }
    this.completed.add(transaction.key, response, route, ms, hash);
  }

  completeClient(transaction: { readonly key: string }, route: Flow, ms: number, accepted: boolean): void {
    const hash = hashKey(transaction.key);
    this.client.deleteIf(transaction.key, transaction as ClientTransaction, hash);
    (accepted ? this.acceptedClients : this.completedClients).add(transaction.key, NO_RESPONSE, route, ms, hash);
  }

  serverFailed(kind: 'timeout' | 'transport', request: SipRequest | undefined, flow: Flow): void {
    this.counters.increment(`transaction.server_${kind}`);
    this.user.onServerFailure?.(kind, request, flow);
  }

  // ---- matching --------------------------------------------------------------------------

  private receiveRequest(request: SipRequest, flow: Flow): void {
    const key = serverKey(request);
    const hash = hashKey(key);
    const existing = this.server.get(key, hash);
    if (request.method === 'ACK') {
      const invite = existing ?? this.find2543Invite(request);
      if (invite instanceof ServerInviteTransaction && invite.state === 'completed') {
        invite.receiveAck();
        return;
      }
      if (invite instanceof ServerInviteTransaction && invite.state === 'confirmed') return; // retransmitted ACK
      this.user.onAck?.(request, flow);
      return;
    }
    if (existing !== undefined) {
      this.counters.increment('transaction.retransmissions_absorbed');
      existing.receiveRequest();
      return;
    }
    // a completed non-INVITE one answers with its final response; an INVITE in Accepted absorbs it (RFC 6026 §7.1)
    if (this.completed.answer(key, hash)) {
      this.counters.increment('transaction.retransmissions_absorbed');
      return;
    }
    const tx =
      request.method === 'INVITE'
        ? new ServerInviteTransaction(this, key, request, flow, this.autoTrying)
        : new ServerNonInviteTransaction(this, key, request, flow);
    this.receiving = tx;
    this.receivingHash = hash;
    try {
      this.user.onRequest(request, tx);
    } catch (err) {
      this.logger.error({ err: (err as Error).stack, callId: request.callId }, 'transaction user failed on a request');
      this.counters.increment('transaction.user_errors');
      // A failed TU must not leave the transaction waiting for a response forever.
      if (tx.finalStatus === 0 && !tx.terminated) tx.respond(createResponse(request, 500));
    } finally {
      this.receiving = null;
    }
    // Entered in the table only now: nothing else is received while the TU runs synchronously,
    // and a request answered at once without state (an OPTIONS ping, a digest challenge) ends its
    // transaction before that, so it never costs a table entry; nor does one that complete() has
    // moved to the completed table (a non-INVITE one answered at once over UDP, an INVITE one with a 2xx).
    if (!tx.terminated && (tx.finalStatus === 0 || (tx.isInvite && tx.finalStatus >= 300))) this.server.set(key, tx, hash);
  }

  /**
   * RFC 2543 ACK matching (§17.2.3): the ACK carries the To tag of our response, which the INVITE
   * did not have, so look the INVITE up without it and compare the tag afterwards.
   */
  private find2543Invite(ack: SipRequest): ServerTransaction | undefined {
    if (hasMagicCookie(ack)) return undefined;
    const tx = this.server.get(serverKey(ack, ''));
    return tx instanceof ServerInviteTransaction && tx.responseToTag === ack.to.tag ? tx : undefined;
  }

  /**
   * A response for a client transaction kept in compact form: a further 2xx in Accepted goes to the
   * TU (RFC 6026 §8.4), anything else there or in Completed is absorbed (§17.1.2.2, RFC 6026 §8.4).
   */
  private receiveLingering(response: SipResponse, key: string, hash: number): boolean {
    const accepted = this.acceptedClients.routeOf(key, hash);
    if (accepted !== undefined) {
      if (response.status >= 200 && response.status < 300) {
        try {
          this.user.onAcceptedResponse?.(response, accepted);
        } catch (err) {
          this.logger.error({ err: (err as Error).stack, callId: response.callId }, 'response handler failed');
          this.counters.increment('transaction.user_errors');
        }
      }
      return true;
    }
    if (this.completedClients.routeOf(key, hash) === undefined) return false;
    this.counters.increment('transaction.retransmissions_absorbed');
    return true;
  }

  private receiveResponse(response: SipResponse, flow: Flow): void {
    const key = clientKeyOfResponse(response);
    const hash = key === undefined ? 0 : hashKey(key);
    const tx = key === undefined ? undefined : this.client.get(key, hash);
    if (tx === undefined) {
      if (key !== undefined && this.receiveLingering(response, key, hash)) return;
      this.counters.increment('transaction.stray_responses');
      this.user.onStrayResponse?.(response, flow);
      return;
    }
    try {
      tx.receiveResponse(response);
    } catch (err) {
      this.logger.error({ err: (err as Error).stack, callId: response.callId }, 'response handler failed');
      this.counters.increment('transaction.user_errors');
    }
  }
}

/**
 * What a CANCEL finds of an INVITE server transaction in Accepted, which the layer keeps as its key
 * only: an answered INVITE, on which the CANCEL has no effect (RFC 3261 §9.2, §16.10).
 */
class AnsweredInvite implements ServerTransactionHandle {
  readonly isInvite = true;
  readonly finalStatus = 200;
  readonly terminated = false;

  constructor(
    readonly key: string,
    readonly flow: Flow,
  ) {}

  get request(): SipRequest {
    throw new Error('the request of an accepted transaction has been released');
  }

  respond(): void {}

  terminate(): void {}
}
