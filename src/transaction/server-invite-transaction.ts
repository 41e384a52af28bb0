import { ownString } from '../shared/index.ts';
import { createResponse, type SipRequest, type SipResponse } from '../sip/index.ts';
import { isReliable, type Destination, type Flow } from '../transport/index.ts';
import { NO_RESPONSE } from './completed-transaction-table.ts';
import type { ServerTransactionHandle, TransactionContext } from './context.ts';
import { TimedTransaction } from './timed-transaction.ts';
import { lingerMs, TimerKind } from './timers.ts';

export type ServerInviteState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/**
 * The INVITE server transaction of RFC 3261 §17.2.1 (Figure 7) with the RFC 6026 Accepted state:
 * after a 2xx the transaction stays to absorb INVITE retransmissions (Timer L) instead of ending,
 * and the TU retransmits the 2xx itself (§13.3.1.4).
 */
export class ServerInviteTransaction extends TimedTransaction implements ServerTransactionHandle {
  readonly isInvite = true;
  state: ServerInviteState = 'proceeding';
  finalStatus = 0;
  /** To tag of the last response sent, for RFC 2543 ACK matching. */
  responseToTag: string | undefined;
  private lastResponse: SipResponse | null = null;
  private intervalG: number;
  private held: SipRequest | null;
  private route: Flow | Destination | undefined;

  constructor(
    private readonly ctx: TransactionContext,
    readonly key: string,
    request: SipRequest,
    readonly flow: Flow,
    trying: 'immediate' | 'delayed' | 'off',
  ) {
    super(ctx.wheel);
    this.held = request;
    this.intervalG = ctx.timers.T1;
    // §17.2.1: send 100 Trying unless the TU answers within 200 ms
    if (trying === 'immediate') this.respond(createResponse(request, 100));
    else if (trying === 'delayed') this.arm(TimerKind.Trying, 200);
  }

  /**
   * The request, until a 2xx was sent: in Accepted (RFC 6026 §7.1) the transaction only absorbs
   * INVITE retransmissions for 64*T1, so the request and the response are released for that time.
   */
  get request(): SipRequest {
    if (this.held === null) throw new Error('the request of an accepted transaction has been released');
    return this.held;
  }

  get terminated(): boolean {
    return this.state === 'terminated' || this.keyLingerOver;
  }

  /** An INVITE retransmission: the last provisional is resent in Proceeding (§17.2.1); absorbed otherwise. */
  receiveRequest(): void {
    if (this.state === 'proceeding' && this.lastResponse !== null) this.send(this.lastResponse);
    else if (this.state === 'completed' && this.lastResponse !== null) this.send(this.lastResponse);
  }

  /** ACK for a non-2xx final response: Completed → Confirmed (§17.2.1). */
  receiveAck(): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.disarm(TimerKind.G);
    this.disarm(TimerKind.H);
    if (isReliable(this.flow.protocol)) this.terminate();
    else {
      this.cancelTimers();
      this.ctx.linger(this, this.ctx.timers.T4);
    }
  }

  respond(response: SipResponse): void {
    const status = response.status;
    if (this.state === 'accepted' && status >= 200 && status < 300) {
      // RFC 6026 §7.1: further 2xx from the TU (retransmissions, other forks) are sent in Accepted
      if (!this.terminated) this.send(response);
      return;
    }
    if (this.state !== 'proceeding') return;
    this.disarm(TimerKind.Trying);
    this.lastResponse = response;
    // RFC 2543 ACK matching (§17.2.3) compares the To tag of a non-2xx final response; kept as a
    // copy, as a substring would keep the response's whole text alive while the transaction lingers
    const tag = status >= 300 ? response.to.tag : undefined;
    this.responseToTag = tag === undefined ? undefined : ownString(tag);
    this.send(response);
    // a failed send has already terminated the transaction (§17.2.4): arm no timers
    if (status < 200 || this.terminated) return;
    this.finalStatus = status;
    if (status < 300) {
      // Timer L: the layer keeps the key alone to absorb retransmitted INVITEs (RFC 6026 §7.1); this
      // object stays usable by a TU that holds it (further 2xx are sent above), but nothing else keeps it
      const ms = lingerMs(this.ctx.timers, 64 * this.ctx.timers.T1);
      this.lingerAsKey(ms);
      this.state = 'accepted';
      this.cancelTimers();
      this.lastResponse = null;
      this.held = null;
      this.ctx.complete(this, NO_RESPONSE, this.flow, ms);
      return;
    }
    this.state = 'completed';
    if (!isReliable(this.flow.protocol)) this.arm(TimerKind.G, this.intervalG);
    this.arm(TimerKind.H, 64 * this.ctx.timers.T1);
  }

  onTimer(kind: number): void {
    switch (kind) {
      case TimerKind.Trying:
        if (this.state === 'proceeding' && this.lastResponse === null) this.respond(createResponse(this.request, 100));
        break;
      case TimerKind.G:
        if (this.state !== 'completed' || this.lastResponse === null) return;
        this.send(this.lastResponse);
        if (this.terminated) return; // the retransmission failed (§17.2.4)
        this.intervalG = Math.min(2 * this.intervalG, this.ctx.timers.T2);
        this.arm(TimerKind.G, this.intervalG);
        break;
      case TimerKind.H:
        // no ACK came: the TU learns of it (§17.2.1)
        if (this.state !== 'completed') return;
        this.terminate();
        this.ctx.serverFailed('timeout', this.request, this.flow);
        break;
    }
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.cancelTimers();
    this.ctx.forget(this, true);
  }

  private send(response: SipResponse): void {
    this.route = this.ctx.transport.sendResponse(response, this.flow, () => this.transportError(), this.route);
  }

  private transportError(): void {
    if (this.state === 'terminated') return;
    this.terminate();
    this.ctx.serverFailed('transport', this.held ?? undefined, this.flow);
  }
}
