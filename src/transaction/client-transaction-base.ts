import type { TimerTarget } from '../shared/index.ts';
import { createResponse, type SipRequest, type SipResponse } from '../sip/index.ts';
import type { Destination, Flow } from '../transport/index.ts';
import type { ClientTransactionHandle, ClientTransactionHandler } from './client-transaction.ts';
import type { TransactionContext } from './context.ts';
import { TimerSet } from './timer-set.ts';

/**
 * What the INVITE and non-INVITE client transactions (RFC 3261 §17.1.1, §17.1.2) share: their
 * identity, the flow the request went out on, its bytes for retransmission, their timers, and how
 * they end — quietly, or with a synthesized 408 (Timer B/F) or 503 (transport error, §8.1.3.1).
 */
export abstract class ClientTransactionBase implements ClientTransactionHandle, TimerTarget {
  abstract readonly isInvite: boolean;
  abstract state: string;
  flow: Flow | undefined;
  failed: 'timeout' | 'transport' | null = null;
  protected bytes: Buffer | null = null;
  protected readonly timers: TimerSet;

  constructor(
    protected readonly ctx: TransactionContext,
    readonly key: string,
    readonly request: SipRequest,
    readonly branch: string,
    readonly destination: Destination,
    protected readonly handler: ClientTransactionHandler,
  ) {
    this.timers = new TimerSet(ctx.wheel, this);
  }

  get terminated(): boolean {
    return this.state === 'terminated';
  }

  abstract receiveResponse(response: SipResponse): void;
  abstract onTimer(kind: number): void;

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timers.cancelAll();
    this.ctx.forget(this.key, false);
  }

  /** Sends the request's bytes again on the flow it first took. */
  protected retransmit(): void {
    if (this.bytes !== null && this.flow !== undefined) this.ctx.transport.sendBytes(this.bytes, this.flow);
  }

  protected fail(kind: 'timeout' | 'transport', status: number): void {
    this.failed = kind;
    this.terminate();
    this.handler.onResponse(createResponse(this.request, status), this);
  }
}
