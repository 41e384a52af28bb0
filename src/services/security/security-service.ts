import { Counters, silentLogger, systemClock, type Clock, type Logger } from '../../shared/index.ts';
import type { TrustedPeerRepository } from '../../store/ports.ts';
import type { TransportProtocol } from '../../transport/index.ts';
import { BruteForceGuard } from './brute-force-guard.ts';
import { CallLimiter } from './call-limiter.ts';
import type { BackoffPolicy } from './failure-counter.ts';
import { FloodDetector } from './flood-detector.ts';
import { PeerAcl, type TrustedPeer } from './peer-acl.ts';

/** The security settings, as the config section `security:` gives them (times in seconds). */
export interface SecurityPolicy {
  flood: {
    /** Requests per window and source above which the source is banned; 0 turns flood protection off. */
    requests: number;
    windowSec: number;
    banSec: number;
    action: 'drop' | '503';
  };
  authFailures: {
    /** Failed authentications per window that block a user or a source; 0 turns it off. */
    maxFailures: number;
    windowSec: number;
    blockSec: number;
    maxBlockSec: number;
  };
  /** Concurrent calls per authenticated user; 0 is no limit. */
  maxCallsPerUser: number;
  /** Trusted peers from the configuration (the store adds its own). */
  trustedPeers: TrustedPeer[];
}

const TRANSPORTS: TransportProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

export const DEFAULT_SECURITY_POLICY: SecurityPolicy = {
  flood: { requests: 200, windowSec: 2, banSec: 300, action: 'drop' },
  authFailures: { maxFailures: 5, windowSec: 60, blockSec: 60, maxBlockSec: 3600 },
  maxCallsPerUser: 0,
  trustedPeers: [],
};

/**
 * The security service: the trusted-peer table (config and store), flood protection for the
 * transport, the brute-force guard and the call limiter for the routing layer, with their
 * counters (security.*) and log lines.
 */
export class SecurityService {
  readonly peers: PeerAcl;
  /** Undefined when flood protection is off (the transport then has no guard at all). */
  readonly flood: FloodDetector | undefined;
  /** Undefined when brute-force protection is off. */
  readonly authFailures: BruteForceGuard | undefined;
  readonly calls: CallLimiter;
  private readonly logger: Logger;
  private readonly counters: Counters;

  constructor(
    readonly policy: SecurityPolicy,
    private readonly options: { store?: TrustedPeerRepository; counters?: Counters; logger?: Logger; clock?: Clock } = {},
  ) {
    const counters = options.counters ?? new Counters();
    this.counters = counters;
    const clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.peers = new PeerAcl(policy.trustedPeers);
    const f = policy.flood;
    this.flood =
      f.requests > 0
        ? new FloodDetector({
            requests: f.requests,
            windowMs: f.windowSec * 1000,
            banMs: f.banSec * 1000,
            action: f.action,
            clock,
            isExempt: (address) => this.peers.trustsAddress(address),
            onBan: (address) => {
              counters.increment('security.flood.bans');
              this.logger.warn({ source: address, banSec: f.banSec, limit: `${f.requests}/${f.windowSec}s` }, 'flood: source banned');
            },
          })
        : undefined;
    this.peers.onChange = () => this.flood?.refreshExemptions();
    const a = policy.authFailures;
    const backoff: BackoffPolicy = { maxFailures: a.maxFailures, windowMs: a.windowSec * 1000, blockMs: a.blockSec * 1000, maxBlockMs: Math.max(a.blockSec, a.maxBlockSec) * 1000 };
    this.authFailures =
      a.maxFailures > 0
        ? new BruteForceGuard({
            // a user is tried from many sources by a distributed guesser; twice the per-source
            // allowance keeps a user with a mistyped password on two devices from being blocked at once
            perUser: { ...backoff, maxFailures: a.maxFailures * 2 },
            perSource: backoff,
            clock,
            onBlock: (kind, key, ms) => {
              counters.increment(`security.auth.blocks.${kind}`);
              this.logger.warn({ [kind]: key, blockSec: Math.round(ms / 1000) }, 'authentication failures: blocked');
            },
          })
        : undefined;
    this.calls = new CallLimiter({ maxCallsPerUser: policy.maxCallsPerUser, clock });
  }

  /** Loads the stored peers and starts the sweep timers. */
  async start(): Promise<void> {
    await this.reloadPeers();
    this.flood?.start();
    this.authFailures?.start();
    this.calls.start();
  }

  stop(): void {
    this.flood?.stop();
    this.authFailures?.stop();
    this.calls.stop();
  }

  /** The configured peers plus those in the store (after `sipline peer add`). */
  async reloadPeers(): Promise<void> {
    const stored = this.options.store === undefined ? [] : await this.options.store.listPeers();
    const peers: TrustedPeer[] = [...this.policy.trustedPeers];
    for (const p of stored) {
      const transport = p.transport === null ? undefined : TRANSPORTS.find((t) => t === p.transport);
      if (p.transport !== null && transport === undefined) {
        this.logger.error({ peer: p.address, transport: p.transport }, 'stored trusted peer with an unknown transport; skipped');
        continue;
      }
      peers.push({ address: p.address, transport, port: p.port ?? undefined, group: p.group ?? undefined });
    }
    try {
      this.peers.replace(peers);
    } catch (err) {
      // a bad stored row must not take the configured peers away: keep them and say which row
      this.logger.error({ err: (err as Error).message }, 'trusted peers in the store are not valid; using the configured ones');
      this.peers.replace(this.policy.trustedPeers);
    }
  }

  /** The peer entry a request from this source matches (in the group, when one is given). */
  trustedPeer(address: string, protocol: TransportProtocol, port: number, group?: string): TrustedPeer | undefined {
    return this.peers.match(address, protocol, port, group);
  }

  // ---- for the routing layer's authenticate(): user is "user@domain", source the IP address ----

  /** Whether an authentication attempt must be refused unverified (the user or the source is blocked). */
  authBlocked(user: string, source: string): boolean {
    if (this.authFailures === undefined || !this.authFailures.isBlocked(user, source)) return false;
    this.counters.increment('security.auth.refused');
    return true;
  }

  /** Credentials were present and wrong. */
  authFailed(user: string, source: string): void {
    this.counters.increment('security.auth.failures');
    this.authFailures?.failed(user, source);
  }

  authSucceeded(user: string, source: string): void {
    this.authFailures?.succeeded(user, source);
  }

  // ---- concurrent calls ----------------------------------------------------------------

  /** An INVITE of an authenticated user: false when the user is at max_calls_per_user. */
  admitCall(user: string, callId: string): boolean {
    if (this.calls.admit(user, callId)) return true;
    this.counters.increment('security.calls.refused');
    this.logger.info({ user, callId, limit: this.policy.maxCallsPerUser }, 'call refused: the user is at the concurrent call limit');
    return false;
  }

  /** The final response of an admitted INVITE. */
  callAnswered(callId: string, status: number): void {
    this.calls.finalResponse(callId, status);
  }

  /** A BYE: the call no longer counts. */
  callEnded(callId: string): void {
    this.calls.release(callId);
  }
}
