import { keepBytesIn, keptBytes, type KeptBytesHolder } from '../shared/index.ts';
import { HeaderField, SipRequest, type SipResponse } from '../sip/index.ts';
import { isReliable, type Destination } from '../transport/index.ts';
import { ClientTransactionBase } from './client-transaction-base.ts';
import type { ClientTransactionHandler } from './client-transaction.ts';
import type { TransactionContext } from './context.ts';
import { lingerMs, TimerKind } from './timers.ts';

export type ClientInviteState = 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated';

/**
 * The INVITE client transaction of RFC 3261 §17.1.1 (Figure 5) with RFC 6026: a 2xx moves it to
 * Accepted, where further 2xx (retransmissions, other forks) still reach the TU until Timer M;
 * a 3xx-6xx is acknowledged here (§17.1.1.3) and its retransmissions are absorbed until Timer D.
 */
export class ClientInviteTransaction extends ClientTransactionBase implements KeptBytesHolder {
  readonly isInvite = true;
  state: ClientInviteState = 'calling';
  /** The ACK for a non-2xx final response (§17.1.1.3), sent again for each retransmission of it: in a shared slab (keepBytesIn). */
  keptSlab: Buffer | null = null;
  keptStart = 0;
  keptEnd = 0;
  private intervalA: number;

  constructor(ctx: TransactionContext, key: string, request: SipRequest, destination: Destination, handler: ClientTransactionHandler) {
    super(ctx, key, request, destination, handler);
    this.intervalA = ctx.timers.T1;
  }

  start(): void {
    this.flow = this.destination = this.ctx.transport.sendRequest(this.request, this.destination, this.branch, () => this.transportError());
    if (this.state === 'terminated') return;
    if (!isReliable(this.flow.protocol)) this.arm(TimerKind.A, this.intervalA);
    this.arm(TimerKind.B, 64 * this.ctx.timers.T1);
  }

  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        this.disarm(TimerKind.A);
        if (status < 200) {
          this.state = 'proceeding';
          this.handler.onResponse(response, this);
        } else if (status < 300) {
          this.state = 'accepted';
          this.cancelTimers();
          try {
            this.handler.onResponse(response, this);
          } finally {
            // RFC 6026 §8.4: in Accepted (Timer M) only further 2xx matter: they go to the TU along
            // the route the handler names, with only the key kept, or else to the handler (or to the
            // lighter one it names for that) of this transaction, which lingers as it is
            const ms = lingerMs(this.ctx.timers, 64 * this.ctx.timers.T1);
            const route = this.handler.acceptedRoute?.() ?? null;
            if (route !== null) {
              this.release(null);
              this.completeAsKey(route, ms, true);
            } else {
              this.release(this.handler.acceptedHandler?.() ?? this.handler);
              this.ctx.linger(this, ms);
            }
          }
        } else {
          this.state = 'completed';
          this.disarm(TimerKind.B);
          this.sendAck(response);
          try {
            this.handler.onResponse(response, this);
          } finally {
            // retransmitted finals are answered with the ACK's bytes alone
            this.release(null);
            // even if the handler throws (the layer logs it), or the transaction would never end
            // Timer D: at least 32 s for unreliable transports, zero for reliable ones
            if (this.flow !== undefined && isReliable(this.flow.protocol)) this.terminate();
            else if (this.state === 'completed') {
              this.cancelTimers();
              this.ctx.linger(this, lingerMs(this.ctx.timers, Math.max(32_000, 64 * this.ctx.timers.T1)));
            }
          }
        }
        break;
      case 'accepted':
        if (status >= 200 && status < 300) this.handler.onResponse(response, this);
        break;
      case 'completed': {
        // a retransmitted final response: acknowledge it again, do not pass it up
        const ack = status >= 300 ? keptBytes(this) : null;
        if (ack !== null && this.flow !== undefined) this.ctx.transport.sendBytes(ack, this.flow);
        break;
      }
    }
  }

  onTimer(kind: number): void {
    switch (kind) {
      case TimerKind.A:
        if (this.state !== 'calling') return;
        this.retransmit();
        this.intervalA *= 2;
        this.arm(TimerKind.A, this.intervalA);
        break;
      case TimerKind.B:
        if (this.state !== 'calling') return;
        this.fail('timeout', 408);
        break;
    }
  }

  /**
   * ACK for a non-2xx final response (§17.1.1.3): Request-URI, Call-ID, From, CSeq number and
   * Route of the INVITE, To of the response, and the INVITE's top Via only.
   */
  private sendAck(response: SipResponse): void {
    if (this.flow === undefined) return;
    const inv = this.request;
    const fields: HeaderField[] = [];
    let viaDone = false;
    for (const f of inv.headers) {
      if (f.key === 'via') {
        if (viaDone) continue;
        viaDone = true;
        fields.push(new HeaderField(f.name, f.key, inv.via.toString()));
      } else if (f.key === 'to') {
        fields.push(new HeaderField(f.name, f.key, response.get('to') ?? f.value));
      } else if (f.key === 'cseq') {
        fields.push(new HeaderField(f.name, f.key, `${inv.cseq.seq} ACK`));
      } else if (f.key === 'from' || f.key === 'call-id' || f.key === 'route' || f.key === 'max-forwards') {
        // a new field: the raw offsets of the original belong to the INVITE's text
        fields.push(new HeaderField(f.name, f.key, f.value));
      }
    }
    fields.push(new HeaderField('Content-Length', 'content-length', '0'));
    const ack = new SipRequest('ACK', inv.uriString, fields);
    keepBytesIn(this, ack.toBuffer());
    this.ctx.transport.sendBytes(keptBytes(this) as Buffer, this.flow);
  }

  private transportError(): void {
    if (this.state === 'calling' || this.state === 'proceeding') this.fail('transport', 503);
  }
}
