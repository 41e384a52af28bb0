import type { SipRequest, SipResponse } from '../sip/index.ts';
import type { Destination, Flow } from '../transport/index.ts';

/** Receives what a client transaction learns (RFC 3261 §17.1). */
export interface ClientTransactionHandler {
  /**
   * Responses for the transaction user: provisional ones, the final one, further 2xx for INVITE
   * (RFC 6026), and a synthesized 408 on Timer B/F or 503 on a transport error (§8.1.3.1).
   */
  onResponse(response: SipResponse, transaction: ClientTransactionHandle): void;
  /**
   * The handler an INVITE transaction keeps in Accepted (RFC 6026 §8.4), where only further 2xx
   * arrive for 64*T1: one lighter than this lets the rest of the request's state go. Absent: this one.
   */
  acceptedHandler?(): ClientTransactionHandler;
  /**
   * Instead of a handler in Accepted: a route for further 2xx, which the layer then hands to the
   * TU's onAcceptedResponse with it, keeping nothing of the transaction but its key (no object for
   * the 64*T1 it lingers). Null: acceptedHandler() (or this handler) gets them.
   */
  acceptedRoute?(): Flow | null;
}

export interface ClientTransactionHandle {
  readonly request: SipRequest;
  readonly branch: string;
  readonly destination: Destination;
  /** The flow the request actually went out on (TCP when §18.1.1 switched it). */
  readonly flow: Flow | undefined;
  readonly isInvite: boolean;
  readonly terminated: boolean;
  /** True once the transaction ended by Timer B/F, or by a transport error. */
  readonly failed: 'timeout' | 'transport' | null;
}
