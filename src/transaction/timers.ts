/**
 * RFC 3261 §17.1.1.1 / Appendix A timer values. T1 is the RTT estimate, T2 the longest
 * retransmit interval for non-INVITE requests and INVITE responses, T4 how long a message may
 * stay in the network.
 */
export interface TimerConfig {
  T1: number;
  T2: number;
  T4: number;
  /**
   * How long an ended transaction lingers to absorb retransmissions (Timers D, J, L, M), when
   * shorter than the RFC's 64*T1 is wanted: Kamailio's wait timer (wt_timer, 5 s by default).
   * Absent: the RFC 3261 / RFC 6026 values.
   */
  linger?: number;
}

/** The linger of an ended transaction: `rfc` (its RFC timer value) unless a linger is configured. */
export function lingerMs(timers: TimerConfig, rfc: number): number {
  return timers.linger ?? rfc;
}

export const DEFAULT_TIMERS: TimerConfig = { T1: 500, T2: 4000, T4: 5000 };

/**
 * The timers a working transaction arms, named as in RFC 3261 §17, and the 200 ms 100-Trying rule
 * (§17.2.1). Timers D, I, J, K (RFC 3261) and L, M (RFC 6026) are lingers: transactions wait them
 * out in the LingerQueue, not as timers.
 */
export const TimerKind = {
  A: 1,
  B: 2,
  E: 4,
  F: 5,
  G: 6,
  H: 7,
  Trying: 13,
} as const;
