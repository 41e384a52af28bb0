import type { SipRequest, SipResponse } from '../sip/index.ts';
import { isReliable, type Destination } from '../transport/index.ts';
import { ClientTransactionBase } from './client-transaction-base.ts';
import type { ClientTransactionHandler } from './client-transaction.ts';
import type { TransactionContext } from './context.ts';
import { TimerKind } from './timers.ts';

export type ClientNonInviteState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/** The non-INVITE client transaction of RFC 3261 §17.1.2 (Figure 6). */
export class ClientNonInviteTransaction extends ClientTransactionBase {
  readonly isInvite = false;
  state: ClientNonInviteState = 'trying';
  private intervalE: number;

  constructor(ctx: TransactionContext, key: string, request: SipRequest, destination: Destination, handler: ClientTransactionHandler) {
    super(ctx, key, request, destination, handler);
    this.intervalE = ctx.timers.T1;
  }

  /** Sends the request; `viaPresent` when the request already carries its Via (CANCEL, §9.1). */
  start(viaPresent: boolean): void {
    const onError = () => this.transportError();
    if (viaPresent) {
      this.bytes = this.request.toBuffer();
      this.flow = this.destination = this.ctx.transport.sendBytes(this.bytes, this.destination, onError);
    } else {
      this.flow = this.destination = this.ctx.transport.sendRequest(this.request, this.destination, this.branch, onError);
    }
    if (this.state === 'terminated') return;
    if (!isReliable(this.flow.protocol)) this.arm(TimerKind.E, this.intervalE);
    this.arm(TimerKind.F, 64 * this.ctx.timers.T1);
  }

  receiveResponse(response: SipResponse): void {
    const status = response.status;
    if (this.state === 'trying' || this.state === 'proceeding') {
      if (status < 200) {
        this.state = 'proceeding';
        this.handler.onResponse(response, this);
        return;
      }
      this.state = 'completed';
      this.disarm(TimerKind.E);
      this.disarm(TimerKind.F);
      try {
        this.handler.onResponse(response, this);
      } finally {
        this.release(null);
        // even if the handler throws (the layer logs it), or the transaction would never end
        // Timer K: T4 for unreliable transports (to absorb retransmitted finals), zero otherwise
        if (this.flow !== undefined && isReliable(this.flow.protocol)) this.terminate();
        else if (this.state === 'completed') {
          this.cancelTimers();
          // only its key is kept, to absorb retransmitted finals (CompletedTransactionTable)
          if (this.flow === undefined) this.terminate();
          else this.completeAsKey(this.flow, this.ctx.timers.T4, false);
        }
      }
    }
    // Completed: retransmitted finals are absorbed.
  }

  onTimer(kind: number): void {
    switch (kind) {
      case TimerKind.E:
        if (this.state !== 'trying' && this.state !== 'proceeding') return;
        this.retransmit();
        // §17.1.2.2: doubling up to T2 in Trying; every T2 in Proceeding
        this.intervalE = this.state === 'trying' ? Math.min(2 * this.intervalE, this.ctx.timers.T2) : this.ctx.timers.T2;
        this.arm(TimerKind.E, this.intervalE);
        break;
      case TimerKind.F:
        if (this.state !== 'trying' && this.state !== 'proceeding') return;
        this.fail('timeout', 408);
        break;
    }
  }

  private transportError(): void {
    if (this.state === 'trying' || this.state === 'proceeding') this.fail('transport', 503);
  }
}
