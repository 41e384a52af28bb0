import type { Timer, TimerTarget } from '../shared/index.ts';
import { createResponse, type SipRequest, type SipResponse } from '../sip/index.ts';
import { isReliable, type Destination, type Flow } from '../transport/index.ts';
import type { ClientTransactionHandle, ClientTransactionHandler } from './client-transaction.ts';
import type { TransactionContext } from './context.ts';
import { TimerKind } from './timers.ts';

export type ClientNonInviteState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/** The non-INVITE client transaction of RFC 3261 §17.1.2 (Figure 6). */
export class ClientNonInviteTransaction implements ClientTransactionHandle, TimerTarget {
  readonly isInvite = false;
  state: ClientNonInviteState = 'trying';
  flow: Flow | undefined;
  failed: 'timeout' | 'transport' | null = null;
  private bytes: Buffer | null = null;
  private timerE: Timer | null = null;
  private timerF: Timer | null = null;
  private timerK: Timer | null = null;
  private intervalE: number;

  constructor(
    private readonly ctx: TransactionContext,
    readonly key: string,
    readonly request: SipRequest,
    readonly branch: string,
    readonly destination: Destination,
    private readonly handler: ClientTransactionHandler,
  ) {
    this.intervalE = ctx.timers.T1;
  }

  get terminated(): boolean {
    return this.state === 'terminated';
  }

  /** Sends the request; `viaPresent` when the request already carries its Via (CANCEL, §9.1). */
  start(viaPresent: boolean): void {
    const onError = () => this.transportError();
    if (viaPresent) {
      this.bytes = this.request.toBuffer();
      this.flow = this.ctx.transport.sendBytes(this.bytes, this.destination, onError);
    } else {
      this.flow = this.ctx.transport.sendRequest(this.request, this.destination, this.branch, onError);
      this.bytes = this.request.toBuffer();
    }
    if (this.state === 'terminated') return;
    if (!isReliable(this.flow.protocol)) this.timerE = this.ctx.wheel.schedule(this.intervalE, this, TimerKind.E);
    this.timerF = this.ctx.wheel.schedule(64 * this.ctx.timers.T1, this, TimerKind.F);
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
      const wheel = this.ctx.wheel;
      wheel.cancel(this.timerE);
      wheel.cancel(this.timerF);
      this.timerE = this.timerF = null;
      try {
        this.handler.onResponse(response, this);
      } finally {
        // even if the handler throws (the layer logs it), or the transaction would never end
        // Timer K: T4 for unreliable transports (to absorb retransmitted finals), zero otherwise
        if (this.flow !== undefined && isReliable(this.flow.protocol)) this.terminate();
        else if (this.state === 'completed') this.timerK = wheel.schedule(this.ctx.timers.T4, this, TimerKind.K);
      }
    }
    // Completed: retransmitted finals are absorbed.
  }

  onTimer(kind: number): void {
    switch (kind) {
      case TimerKind.E:
        if (this.state !== 'trying' && this.state !== 'proceeding') return;
        if (this.bytes !== null && this.flow !== undefined) this.ctx.transport.sendBytes(this.bytes, this.flow);
        // §17.1.2.2: doubling up to T2 in Trying; every T2 in Proceeding
        this.intervalE = this.state === 'trying' ? Math.min(2 * this.intervalE, this.ctx.timers.T2) : this.ctx.timers.T2;
        this.timerE = this.ctx.wheel.schedule(this.intervalE, this, TimerKind.E);
        break;
      case TimerKind.F:
        this.timerF = null;
        if (this.state !== 'trying' && this.state !== 'proceeding') return;
        this.fail('timeout', 408);
        break;
      case TimerKind.K:
        this.terminate();
        break;
    }
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    const wheel = this.ctx.wheel;
    wheel.cancel(this.timerE);
    wheel.cancel(this.timerF);
    wheel.cancel(this.timerK);
    this.ctx.forget(this.key, false);
  }

  private transportError(): void {
    if (this.state === 'trying' || this.state === 'proceeding') this.fail('transport', 503);
  }

  private fail(kind: 'timeout' | 'transport', status: number): void {
    this.failed = kind;
    this.terminate();
    this.handler.onResponse(createResponse(this.request, status), this);
  }
}
