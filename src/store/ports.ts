/**
 * Storage interfaces (ports). Services depend on these only; adapters (memory, sqlite, and later
 * postgres and redis) implement them, and app.ts picks one. Methods are asynchronous so that
 * networked back ends fit the same shape; hot paths keep their working set in memory and use the
 * store for persistence.
 */

/** A SIP account. Only digest HA1 values are stored (RFC 7616 §3.4.2), never the password. */
export interface Subscriber {
  username: string;
  domain: string;
  /** H(username ":" realm ":" password) with MD5, lowercase hex. */
  ha1Md5: string;
  /** The same with SHA-256. */
  ha1Sha256: string;
}

/** A served SIP domain, its digest realm and the other names that reach it. */
export interface Domain {
  name: string;
  realm: string;
  aliases: string[];
}

/** A registration binding as persisted (RFC 3261 §10.3). Times are epoch milliseconds. */
export interface StoredBinding {
  /** Address-of-record, "user@domain" (canonical domain, lowercase). */
  aor: string;
  contact: string;
  expiresAt: number;
  q: number;
  callId: string;
  cseq: number;
  /** Path header values (RFC 3327), in order. */
  path: string[];
  /** +sip.instance and reg-id (RFC 5626). */
  instance: string | null;
  regId: number | null;
  /** Where the REGISTER came from: "udp:1.2.3.4:5060". */
  received: string | null;
  userAgent: string | null;
  updatedAt: number;
}

/**
 * A trusted peer as stored (`sipline peer add`): an address or CIDR block, optionally one
 * transport and source port, and a group name. Null means "any" / "none".
 */
export interface StoredPeer {
  address: string;
  transport: string | null;
  port: number | null;
  group: string | null;
}

/**
 * A MESSAGE kept for a user who was offline (Kamailio msilo): what is needed to deliver it later
 * as the sender sent it (RFC 3428). Times are epoch milliseconds.
 */
export interface StoredMessage {
  /** Assigned by the store, increasing: delivery order is id order. */
  id: number;
  /** The recipient's address-of-record, "user@domain". */
  aor: string;
  /** The From URI of the original request. */
  sender: string;
  /** When the server received it (the Date of the delivered copy, RFC 3261 §20.17). */
  receivedAt: number;
  /** After this it is discarded undelivered. */
  expiresAt: number;
  contentType: string | null;
  body: Buffer;
}

export interface SubscriberRepository {
  getSubscriber(username: string, domain: string): Promise<Subscriber | undefined>;
  putSubscriber(subscriber: Subscriber): Promise<void>;
  deleteSubscriber(username: string, domain: string): Promise<boolean>;
  listSubscribers(domain?: string): Promise<Subscriber[]>;
  /** Inserts or replaces many subscribers in one transaction; returns how many. */
  importSubscribers(subscribers: Subscriber[]): Promise<number>;
}

export interface DomainRepository {
  listDomains(): Promise<Domain[]>;
  putDomain(domain: Domain): Promise<void>;
  deleteDomain(name: string): Promise<boolean>;
}

export interface BindingRepository {
  loadBindings(): Promise<StoredBinding[]>;
  /** Applies a batch of upserts and removals (keyed by aor + contact) atomically. */
  writeBindings(upserts: StoredBinding[], removals: Array<{ aor: string; contact: string }>): Promise<void>;
}

/** Trusted peers (Kamailio's permissions address table); an entry is keyed by address, transport and port. */
export interface TrustedPeerRepository {
  listPeers(): Promise<StoredPeer[]>;
  /** Inserts, or replaces the group of, the entry with the same address, transport and port. */
  putPeer(peer: StoredPeer): Promise<void>;
  deletePeer(address: string, transport: string | null, port: number | null): Promise<boolean>;
}

/** Offline messages (Kamailio msilo's silo table). */
export interface StoredMessageRepository {
  /** Stores a message and returns its id. */
  storeMessage(message: Omit<StoredMessage, 'id'>): Promise<number>;
  /** The messages for an AOR, oldest (lowest id) first. */
  messagesFor(aor: string): Promise<StoredMessage[]>;
  deleteMessage(id: number): Promise<boolean>;
  /** How many messages each AOR has waiting (AORs without any are absent). */
  messageCounts(): Promise<Map<string, number>>;
  /** Deletes the messages that expired at or before `now`; returns the AOR of each one deleted. */
  deleteExpiredMessages(now: number): Promise<string[]>;
}

/**
 * What a presentity decided about a watcher (RFC 3856 §5.1 authorization; the actions of the
 * RFC 5025 presence authorization rules): allow shows the presence state, block rejects the
 * subscription, polite-block accepts it but shows a neutral "closed" state, pending holds it
 * until the presentity decides (the watcher is listed in presence.winfo).
 */
export type PresenceAction = 'allow' | 'block' | 'polite-block' | 'pending';

/**
 * One authorization rule of a presentity (AOR "user@domain"): the watcher is an AOR
 * ("bob@example.com"), a whole domain ("example.com") or "*" (everyone).
 */
export interface PresenceRule {
  presentity: string;
  watcher: string;
  action: PresenceAction;
}

/** Watcher authorization rules, keyed by presentity and watcher. */
export interface PresenceRuleRepository {
  /** Every rule, or those of one presentity, ordered by presentity and watcher. */
  listPresenceRules(presentity?: string): Promise<PresenceRule[]>;
  /** Inserts, or replaces the action of, the rule with the same presentity and watcher. */
  putPresenceRule(rule: PresenceRule): Promise<void>;
  deletePresenceRule(presentity: string, watcher: string): Promise<boolean>;
}

export interface Store extends SubscriberRepository, DomainRepository, BindingRepository, TrustedPeerRepository, StoredMessageRepository, PresenceRuleRepository {
  /**
   * A number that changes when another process changed the data (provisioning from the CLI while
   * the server runs), so caches know when to reload.
   */
  changeMarker(): Promise<number>;
  close(): Promise<void>;
}
