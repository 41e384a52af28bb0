import { newCallId, newTag, silentLogger, type Logger } from '../../shared/index.ts';
import { createRequest, type SipRequest } from '../../sip/index.ts';
import type { StoredMessage, StoredMessageRepository } from '../../store/ports.ts';
import type { OfflinePolicy } from './messaging-policy.ts';

/**
 * Sends a MESSAGE to every current contact of an address-of-record (in parallel, as a proxy forks
 * it) and resolves with the best final status: a 2xx when any contact took it, 480 when the AOR has
 * no contact, 413 when the body is too large for every contact it has.
 */
export type DeliverMessage = (aor: string, request: SipRequest) => Promise<number>;

/** What store() did: kept the message, or refused it (the user's quota is full, the store is off). */
export type StoreOutcome = 'stored' | 'full' | 'disabled';

export interface MessageSiloOptions {
  policy: OfflinePolicy;
  deliver: DeliverMessage;
  now?: () => number;
  logger?: Logger;
  /** How often expired messages are purged; 60 s by default. */
  purgeIntervalMs?: number;
}

/**
 * Offline store-and-forward of pager-mode MESSAGEs (RFC 3428; Kamailio msilo): a MESSAGE for a
 * user without a binding is kept in the store with its sender, time, Content-Type and body, and
 * delivered when the user next registers, oldest first, each as a new MESSAGE from the server with
 * the original From and a Date header of its arrival (RFC 3261 §20.17). A message is deleted only
 * after a 2xx from the recipient; anything else leaves it, and the ones after it, for the next
 * registration, so that the order holds.
 *
 * How many messages wait for each AOR is kept in memory (loaded at start), so that a REGISTER of a
 * user with nothing waiting, the common case, costs one map lookup and no store access.
 */
export class MessageSilo {
  private readonly pending = new Map<string, number>();
  private readonly delivering = new Set<string>();
  private readonly now: () => number;
  private readonly logger: Logger;
  private purgeTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly repository: StoredMessageRepository,
    private readonly options: MessageSiloOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
  }

  get policy(): OfflinePolicy {
    return this.options.policy;
  }

  /** Loads the number of waiting messages per AOR, purges the expired ones and starts the purge timer. */
  async start(): Promise<number> {
    for (const [aor, count] of await this.repository.messageCounts()) this.pending.set(aor, count);
    await this.purgeExpired();
    this.purgeTimer = setInterval(() => {
      this.purgeExpired().catch((err: Error) => this.logger.warn({ err: err.message }, 'cannot purge expired offline messages'));
    }, this.options.purgeIntervalMs ?? 60_000);
    this.purgeTimer.unref();
    let total = 0;
    for (const count of this.pending.values()) total += count;
    return total;
  }

  /** Stops the timer and every delivery in progress (a message being delivered stays stored). */
  stop(): void {
    this.stopped = true;
    if (this.purgeTimer !== null) clearInterval(this.purgeTimer);
    this.purgeTimer = null;
  }

  /** How many messages wait for an AOR. */
  pendingFor(aor: string): number {
    return this.pending.get(aor) ?? 0;
  }

  /** Keeps a MESSAGE for a user who has no binding, unless the store is off or the user's quota full. */
  async store(aor: string, request: SipRequest): Promise<StoreOutcome> {
    const policy = this.options.policy;
    if (!policy.enabled || this.stopped) return 'disabled';
    const count = this.pendingFor(aor);
    if (count >= policy.maxPerUser) return 'full';
    // the slot is taken before the store is awaited, so that concurrent MESSAGEs respect the quota
    this.pending.set(aor, count + 1);
    const now = this.now();
    try {
      await this.repository.storeMessage({
        aor,
        sender: request.from.uri.toString(),
        receivedAt: now,
        expiresAt: now + policy.expireSec * 1000,
        contentType: request.contentType ?? null,
        body: request.body,
      });
    } catch (err) {
      this.decrement(aor);
      throw err;
    }
    this.logger.info({ aor, callId: request.callId, waiting: count + 1 }, 'MESSAGE stored for an offline user');
    return 'stored';
  }

  /**
   * A binding of the AOR was saved (LocationService.onChange): its waiting messages are delivered,
   * after the REGISTER's 200 OK, which goes out in the same turn as the binding is saved. One
   * delivery run per AOR at a time; a refresh during a run starts none.
   */
  registered(aor: string): void {
    if (!this.options.policy.enabled || this.stopped || this.pendingFor(aor) === 0 || this.delivering.has(aor)) return;
    this.delivering.add(aor);
    setImmediate(() => {
      this.deliverStored(aor)
        .catch((err: Error) => this.logger.warn({ err: err.message, aor }, 'cannot deliver offline messages'))
        .finally(() => this.delivering.delete(aor));
    });
  }

  /**
   * Delivers the AOR's waiting messages one at a time, oldest first, each after the previous one got
   * its final response: a 2xx deletes it; 413 (too large for every contact the user has now) leaves
   * it for a later registration without holding up the others; any other answer (480, 408 after
   * Timer F, 503) ends the run, and the rest waits for the next registration. Returns how many
   * were delivered.
   */
  async deliverStored(aor: string): Promise<number> {
    let delivered = 0;
    const tried = new Set<number>();
    for (;;) {
      const messages = (await this.repository.messagesFor(aor)).filter((m) => !tried.has(m.id));
      // messages stored during a run (before the binding was saved) are taken in a further round
      if (messages.length === 0 || this.stopped) return delivered;
      for (const message of messages) {
        tried.add(message.id);
        if (message.expiresAt <= this.now()) continue; // the purge deletes it
        const status = await this.options.deliver(aor, this.requestFor(message));
        if (this.stopped) return delivered;
        if (status >= 200 && status < 300) {
          if (await this.repository.deleteMessage(message.id)) this.decrement(aor);
          delivered++;
          continue;
        }
        this.logger.info({ aor, id: message.id, status }, 'offline message not delivered; kept');
        if (status !== 413) return delivered;
      }
    }
  }

  /** Deletes the expired messages; returns how many. */
  async purgeExpired(): Promise<number> {
    const aors = await this.repository.deleteExpiredMessages(this.now());
    for (const aor of aors) this.decrement(aor);
    if (aors.length > 0) this.logger.info({ count: aors.length }, 'expired offline messages deleted');
    return aors.length;
  }

  /**
   * The MESSAGE that delivers a stored one: from the original sender (a new tag: this is a new
   * request of the server's), to the AOR, with the time it arrived as its Date (RFC 3261 §20.17:
   * the SIP-date is RFC 1123's, which toUTCString writes), the original Content-Type and body.
   */
  private requestFor(message: StoredMessage): SipRequest {
    return createRequest({
      method: 'MESSAGE',
      uri: `sip:${message.aor}`,
      headers: [
        ['From', `<${message.sender}>;tag=${newTag()}`],
        ['To', `<sip:${message.aor}>`],
        ['Call-ID', newCallId()],
        ['CSeq', '1 MESSAGE'],
        ['Max-Forwards', '70'],
        ['Date', new Date(message.receivedAt).toUTCString()],
      ],
      body: message.body,
      contentType: message.contentType ?? undefined,
    });
  }

  private decrement(aor: string): void {
    const count = this.pendingFor(aor) - 1;
    if (count > 0) this.pending.set(aor, count);
    else this.pending.delete(aor);
  }
}
