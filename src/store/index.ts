export type { Store, Subscriber, Domain, StoredBinding, SubscriberRepository, DomainRepository, BindingRepository } from './ports.ts';
export { MemoryStore } from './memory/memory-store.ts';
export { SqliteStore } from './sqlite/sqlite-store.ts';
