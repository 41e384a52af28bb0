export type { Store, Subscriber, Domain, StoredBinding, StoredPeer, SubscriberRepository, DomainRepository, BindingRepository, TrustedPeerRepository, StoredMessage, StoredMessageRepository, PresenceAction, PresenceRule, PresenceRuleRepository } from './ports.ts';
export { MemoryStore } from './memory/memory-store.ts';
export { SqliteStore } from './sqlite/sqlite-store.ts';
