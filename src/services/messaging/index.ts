export { MessageSilo, type MessageSiloOptions, type StoreOutcome, type DeliverMessage } from './message-silo.ts';
export { DEFAULT_MESSAGING_POLICY, type MessagingPolicy, type OfflinePolicy } from './messaging-policy.ts';
