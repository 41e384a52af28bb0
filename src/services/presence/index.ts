export { PresenceService, DEFAULT_PRESENCE_POLICY, type PresencePolicy, type SubscriptionPolicy, type PresenceDependencies, type PresenceOutcome, type SubscribeParties, type RegisteredContacts } from './presence-service.ts';
export { EventStateCompositor, Publication, type PublicationPolicy, type PublishRequest, type PublishOutcome } from './event-state-compositor.ts';
export { Notifier, type NotifyTransport } from './notifier.ts';
export { WatcherAuthorization, type DefaultPresencePolicy } from './watcher-authorization.ts';
export { composePresence, readPidf, registrationTuples, escapeXml, ownPart, PIDF_CONTENT_TYPE, type PidfPart } from './pidf.ts';
export { composeWatcherInfo, WATCHERINFO_CONTENT_TYPE, type WatcherEntry, type WatcherEvent, type WatcherStatus } from './watcher-info.ts';
export type { PresencePackage, SubscriptionState, TerminationReason } from './subscription.ts';
