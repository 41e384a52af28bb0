import type { TimerWheel } from '../shared/index.ts';
import type { SipRequest, SipResponse } from '../sip/index.ts';
import type { Flow, TransportLayer } from '../transport/index.ts';
import type { Lingering } from './linger-queue.ts';
import type { TimerConfig } from './timers.ts';

/** What a transaction needs from the layer that owns it. */
export interface TransactionContext {
  readonly transport: TransportLayer;
  readonly wheel: TimerWheel;
  readonly timers: TimerConfig;
  /**
   * Ends `transaction` (terminate()) after `ms`: its work is done and it only absorbs
   * retransmissions until then (Timers D, I, J, K, L, M). It arms no timer of its own for that.
   */
  linger(transaction: Lingering, ms: number): void;
  /** Removes a transaction from the matching tables (if it is still the one held under its key). */
  forget(transaction: { readonly key: string }, server: boolean): void;
  /**
   * A non-INVITE server transaction on an unreliable transport sent its final response: for `ms`
   * (Timer J) the layer answers retransmissions of the request with `response` sent along `route`,
   * and the transaction object itself is let go (CompletedTransactionTable). An INVITE one that sent
   * a 2xx passes an empty response: in Accepted (Timer L) retransmissions are only absorbed.
   */
  complete(transaction: { readonly key: string }, response: Buffer, route: Flow, ms: number): void;
  /**
   * A client transaction that only lingers now (an INVITE one in Accepted for Timer M, `accepted`;
   * a non-INVITE one in Completed for Timer K): for `ms` the layer keeps its key and `route` alone,
   * absorbs retransmitted responses, and gives further 2xx in Accepted to the TU with that route.
   */
  completeClient(transaction: { readonly key: string }, route: Flow, ms: number, accepted: boolean): void;
  /** A server transaction ended without the ACK or response it waited for. */
  serverFailed(kind: 'timeout' | 'transport', request: SipRequest | undefined, flow: Flow): void;
}

/**
 * The transaction user's view of a server transaction (RFC 3261 §17.2): the request, the flow it
 * came on, and respond().
 */
export interface ServerTransactionHandle {
  readonly request: SipRequest;
  readonly flow: Flow;
  readonly key: string;
  readonly isInvite: boolean;
  /** The final status sent, 0 while none has been. */
  readonly finalStatus: number;
  readonly terminated: boolean;
  respond(response: SipResponse): void;
  /**
   * Ends the transaction without a response, for a TU that answers nothing here: a stateless
   * proxy (RFC 3261 §16.11) lets retransmissions through as new requests.
   */
  terminate(): void;
}
