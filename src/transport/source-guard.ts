/**
 * What the transport layer asks about a source address before it spends work on its bytes
 * (flood protection, Kamailio's pike): implemented by the security service and wired in app.ts,
 * so that the transport stays below the services. Every call is O(1) and allocation-free: it runs
 * for every datagram.
 */
export interface SourceGuard {
  /** Whether the address is banned now: its bytes are not even parsed. */
  isBanned(address: string): boolean;
  /**
   * Counts one request (or one message that could not be parsed) from the address; false when
   * the address is banned, by this message or before.
   */
  admit(address: string): boolean;
  /** Whether the address is a trusted peer: exempt from the per-source connection limit. */
  isTrusted(address: string): boolean;
  /** What a banned source gets: nothing at all (the default), or 503 Service Unavailable. */
  readonly banAction: 'drop' | '503';
  /** Seconds a ban still lasts, for Retry-After on the 503. */
  banRemainingSec(address: string): number;
}
