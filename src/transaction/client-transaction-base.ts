import { createResponse, type SipRequest, type SipResponse } from '../sip/index.ts';
import type { Destination, Flow } from '../transport/index.ts';
import type { ClientTransactionHandle, ClientTransactionHandler } from './client-transaction.ts';
import type { TransactionContext } from './context.ts';
import { TimedTransaction } from './timed-transaction.ts';
import { branchOfClientKey } from './transaction-key.ts';

/**
 * What the INVITE and non-INVITE client transactions (RFC 3261 §17.1.1, §17.1.2) share: their
 * identity, the flow the request went out on, its bytes for retransmission, their timers, and how
 * they end — quietly, or with a synthesized 408 (Timer B/F) or 503 (transport error, §8.1.3.1).
 */
export abstract class ClientTransactionBase extends TimedTransaction implements ClientTransactionHandle {
  abstract readonly isInvite: boolean;
  abstract state: string;
  flow: Flow | undefined;
  failed: 'timeout' | 'transport' | null = null;
  protected bytes: Buffer | null = null;
  private held: SipRequest | null;

  constructor(
    protected readonly ctx: TransactionContext,
    readonly key: string,
    request: SipRequest,
    /**
     * Where the request goes. Once it is sent: the flow it took (one shared object per UDP peer),
     * so that the Destination made for this request is not kept for the 64*T1 the transaction lingers.
     */
    public destination: Destination,
    protected handler: ClientTransactionHandler,
  ) {
    super(ctx.wheel);
    this.held = request;
  }

  /** The branch of the request's Via: read from the key (clientKey), not kept a second time for the 64*T1 the transaction lingers. */
  get branch(): string {
    return branchOfClientKey(this.key);
  }

  /** The request, until a final response arrived (CANCEL and ACK need it before that). */
  get request(): SipRequest {
    if (this.held === null) throw new Error('the request of a completed client transaction has been released');
    return this.held;
  }

  get terminated(): boolean {
    return this.state === 'terminated' || this.keyLingerOver;
  }

  abstract receiveResponse(response: SipResponse): void;
  abstract override onTimer(kind: number): void;

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.cancelTimers();
    this.ctx.forget(this, false);
  }

  /**
   * After the final response the transaction only lingers (Timers D, K, M) to absorb or pass on
   * retransmissions: the request, its bytes and the handler are released (`next`: the handler
   * that still gets 2xx in Accepted), so that thousands of lingering transactions do not keep
   * their messages alive for the GC.
   */
  protected release(next: ClientTransactionHandler | null): void {
    this.held = null;
    this.bytes = null;
    this.handler = next ?? RELEASED_HANDLER;
  }

  /**
   * Sends the request's bytes again on the flow it first took. Over UDP the first send wrote the
   * request straight into the socket's send area: its bytes are made here, at the first
   * retransmission (the request is held until the final response, and not edited after sending).
   */
  protected retransmit(): void {
    if (this.flow === undefined) return;
    if (this.bytes === null && this.held !== null) this.bytes = this.held.toBuffer();
    if (this.bytes !== null) this.ctx.transport.sendBytes(this.bytes, this.flow);
  }

  /** Only lingers from now on (Timers K, M), as its key and `route` in the layer (completeClient). */
  protected completeAsKey(route: Flow, ms: number, accepted: boolean): void {
    this.lingerAsKey(ms);
    this.ctx.completeClient(this, route, ms, accepted);
  }

  protected fail(kind: 'timeout' | 'transport', status: number): void {
    this.failed = kind;
    const response = createResponse(this.request, status);
    this.terminate();
    this.handler.onResponse(response, this);
  }
}

const RELEASED_HANDLER: ClientTransactionHandler = { onResponse: () => {} };
