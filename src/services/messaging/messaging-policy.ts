/**
 * The messaging settings (config `messaging:`): size limits of pager-mode MESSAGE (RFC 3428) and
 * the offline store (Kamailio msilo).
 */
export interface MessagingPolicy {
  /** The largest MESSAGE body accepted at all, in octets; a larger one gets 413. */
  maxBody: number;
  /**
   * The largest body forwarded over UDP to a contact that can be reached over UDP only (0: no
   * limit). RFC 3428 §9 keeps MESSAGE requests under 1300 octets unless every hop is
   * congestion-controlled, the figure of RFC 3261 §18.1.1 for an unknown path MTU.
   */
  maxUdpBody: number;
  offline: OfflinePolicy;
}

export interface OfflinePolicy {
  /** Store MESSAGEs for users without a binding and deliver them when they register. */
  enabled: boolean;
  /** Messages kept per user; storeOffline() refuses more. */
  maxPerUser: number;
  /** How long an undelivered message is kept, in seconds. */
  expireSec: number;
}

export const DEFAULT_MESSAGING_POLICY: MessagingPolicy = {
  maxBody: 16_384,
  maxUdpBody: 1300,
  offline: { enabled: true, maxPerUser: 100, expireSec: 7 * 24 * 3600 },
};
