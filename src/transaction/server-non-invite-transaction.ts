import type { SipRequest, SipResponse } from '../sip/index.ts';
import { isReliable, type Destination, type Flow } from '../transport/index.ts';
import type { ServerTransactionHandle, TransactionContext } from './context.ts';
import { lingerMs } from './timers.ts';

export type ServerNonInviteState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/** The non-INVITE server transaction of RFC 3261 §17.2.2 (Figure 8). */
export class ServerNonInviteTransaction implements ServerTransactionHandle {
  readonly isInvite = false;
  state: ServerNonInviteState = 'trying';
  finalStatus = 0;
  private lastResponse: SipResponse | null = null;
  private finalRoute: Flow | Destination | undefined;
  private held: SipRequest | null;

  constructor(
    private readonly ctx: TransactionContext,
    readonly key: string,
    request: SipRequest,
    readonly flow: Flow,
  ) {
    this.held = request;
  }

  /** The request, while the TU works on it; released once the final response is sent. */
  get request(): SipRequest {
    if (this.held === null) throw new Error('the request of a completed transaction has been released');
    return this.held;
  }

  get terminated(): boolean {
    return this.state === 'terminated';
  }

  /**
   * A retransmission of the request (§17.2.2): absorbed in Trying, answered with the last
   * provisional response in Proceeding. (In Completed over UDP the layer's
   * CompletedTransactionTable answers it; over a reliable transport Completed ends at once.)
   */
  receiveRequest(): void {
    if (this.state === 'proceeding' && this.lastResponse !== null) this.send(this.lastResponse);
  }

  respond(response: SipResponse): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    this.lastResponse = response;
    if (response.status < 200) {
      this.state = 'proceeding';
      this.send(response);
      return;
    }
    this.finalStatus = response.status;
    this.state = 'completed';
    // serialized first: over UDP its bytes are kept for Timer J, and the send copies those
    const bytes = isReliable(this.flow.protocol) ? null : response.toBuffer();
    this.finalRoute = this.send(response);
    // a failed send has already terminated the transaction (§17.2.4): arm no Timer J
    if (this.terminated) return;
    this.lastResponse = null;
    this.held = null;
    // Timer J: 64*T1 for unreliable transports, zero for reliable ones. Over UDP the layer keeps
    // only the final response's bytes for that time (CompletedTransactionTable): this object is
    // released, as the request and response objects are.
    if (isReliable(this.flow.protocol)) this.terminate();
    else this.ctx.complete(this, bytes ?? response.toBuffer(), this.finalRoute as Flow, lingerMs(this.ctx.timers, 64 * this.ctx.timers.T1));
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.ctx.forget(this, true);
  }

  private send(response: SipResponse): Flow | Destination | undefined {
    return this.ctx.transport.sendResponse(response, this.flow, () => this.transportError(), this.finalRoute);
  }

  private transportError(): void {
    if (this.state === 'terminated') return;
    this.terminate();
    this.ctx.serverFailed('transport', this.held ?? undefined, this.flow);
  }
}
